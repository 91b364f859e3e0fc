"""Host readings through psutil: CPU share, RAM, the workspace's disk, disk and network rates.

The CPU share and the rates are deltas of counters between two readings of the same reader. The CPU share comes
from ``psutil.cpu_times()`` kept by the reader (not ``psutil.cpu_percent``, whose previous reading is module-wide
state another caller would disturb). A window shorter than ``min_window_s`` repeats the previous figures, so a
reading taken right after another (or right after the reader was made) is not noise; before the first full window
they are None. A counter psutil cannot read (a container without /proc/diskstats) gives None, never an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psutil

from .samples import HostSample

MIB = 1 << 20
GIB = 1 << 30
T = TypeVar("T")


def _safe(read: Callable[[], T]) -> T | None:
    try:
        return read()
    except (psutil.Error, OSError, RuntimeError):
        return None


def _busy_and_total(times: Any) -> tuple[float, float]:
    """Busy and total CPU seconds of ``psutil.cpu_times()``, counted as psutil's own ``cpu_percent`` counts them."""
    total = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
    return total - times.idle - getattr(times, "iowait", 0.0), total


@dataclass
class _Counters:
    at: float
    cpu: tuple[float, float] | None
    disk: tuple[int, int] | None
    net: tuple[int, int] | None


@dataclass
class _Rates:
    cpu_percent: float | None = None
    disk_read_mb_s: float | None = None
    disk_write_mb_s: float | None = None
    net_recv_mb_s: float | None = None
    net_sent_mb_s: float | None = None


def _per_second(
    old: tuple[int, int] | None, new: tuple[int, int] | None, seconds: float
) -> tuple[float | None, float | None]:
    """MiB/s of both counters, or None when either reading is missing or a counter went back."""
    if old is None or new is None or new[0] < old[0] or new[1] < old[1]:
        return None, None
    return (new[0] - old[0]) / MIB / seconds, (new[1] - old[1]) / MIB / seconds


class HostReader:
    """Reads the host; the disk figures are those of the file system holding ``disk_path`` (default: cwd)."""

    def __init__(
        self, disk_path: Path | None = None, *, min_window_s: float = 0.25, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.disk_path = Path(disk_path) if disk_path is not None else Path.cwd()
        self.min_window_s = min_window_s
        self._clock = clock
        self._cpu_count = _safe(psutil.cpu_count)
        self._last = self._counters()
        self._rates = _Rates()

    def read(self) -> HostSample:
        """The host now."""
        self._update_rates()
        memory = _safe(psutil.virtual_memory)
        disk = _safe(lambda: psutil.disk_usage(str(self.disk_path)))
        return HostSample(
            cpu_percent=self._rates.cpu_percent,
            cpu_count=self._cpu_count,
            ram_used_mb=None if memory is None else (memory.total - memory.available) / MIB,
            ram_total_mb=None if memory is None else memory.total / MIB,
            disk_used_gb=None if disk is None else disk.used / GIB,
            disk_total_gb=None if disk is None else disk.total / GIB,
            disk_read_mb_s=self._rates.disk_read_mb_s,
            disk_write_mb_s=self._rates.disk_write_mb_s,
            net_recv_mb_s=self._rates.net_recv_mb_s,
            net_sent_mb_s=self._rates.net_sent_mb_s,
        )

    def _counters(self) -> _Counters:
        times = _safe(psutil.cpu_times)
        disk = _safe(psutil.disk_io_counters)
        net = _safe(psutil.net_io_counters)
        return _Counters(
            at=self._clock(),
            cpu=None if times is None else _busy_and_total(times),
            disk=None if disk is None else (disk.read_bytes, disk.write_bytes),
            net=None if net is None else (net.bytes_recv, net.bytes_sent),
        )

    def _update_rates(self) -> None:
        if self._clock() - self._last.at < self.min_window_s:
            return
        old, new = self._last, self._counters()
        seconds = new.at - old.at
        cpu = None
        if old.cpu is not None and new.cpu is not None and new.cpu[1] > old.cpu[1]:
            busy = (new.cpu[0] - old.cpu[0]) / (new.cpu[1] - old.cpu[1])
            cpu = round(min(max(busy, 0.0), 1.0) * 100, 1)
        disk_read, disk_write = _per_second(old.disk, new.disk, seconds)
        net_recv, net_sent = _per_second(old.net, new.net, seconds)
        self._rates = _Rates(cpu, disk_read, disk_write, net_recv, net_sent)
        self._last = new
