"""A summary of system samples over a run's life: peak GPU memory and mean utilisation per device, host peaks.

:class:`SummaryAccumulator` takes samples one at a time (a run's history keeps it up to date without holding every
sample); :func:`summarize` is the same over a list.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .samples import SystemSample


@dataclass
class DeviceSummary:
    """A GPU over a run's life: the peak of its memory (all processes, and the run's own), the mean utilisation."""

    index: int
    name: str
    peak_mem_mb: float | None = None
    peak_run_mem_mb: float | None = None
    mem_total_mb: float | None = None
    mean_util: float | None = None
    max_temp_c: float | None = None


@dataclass
class SystemSummary:
    """What a run's ``system.jsonl`` says about its whole life."""

    samples: int = 0
    first_t: float | None = None
    last_t: float | None = None
    devices: list[DeviceSummary] = field(default_factory=list)
    peak_ram_mb: float | None = None
    mean_cpu_percent: float | None = None
    gpu_error: str | None = None

    @property
    def peak_gpu_mem_mb(self) -> float | None:
        """The largest peak memory of any device (the run's own when known), or None without GPU readings."""
        peaks = [d.peak_run_mem_mb or d.peak_mem_mb for d in self.devices]
        peaks = [p for p in peaks if p is not None]
        return max(peaks) if peaks else None

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "peak_gpu_mem_mb": self.peak_gpu_mem_mb}


def _peak(current: float | None, value: float | None) -> float | None:
    if value is None:
        return current
    return value if current is None else max(current, value)


@dataclass
class _Device:
    index: int
    name: str
    peak_mem_mb: float | None = None
    peak_run_mem_mb: float | None = None
    mem_total_mb: float | None = None
    max_temp_c: float | None = None
    util_total: float = 0.0
    util_count: int = 0


class SummaryAccumulator:
    """Takes samples one at a time; :meth:`summary` equals ``summarize(all samples taken)``."""

    def __init__(self) -> None:
        self.samples = 0
        self.first_t: float | None = None
        self.last_t: float | None = None
        self.peak_ram_mb: float | None = None
        self.gpu_error: str | None = None
        self._devices: dict[int, _Device] = {}
        self._cpu_total = 0.0
        self._cpu_count = 0

    def add(self, sample: SystemSample) -> None:
        """Count one sample in."""
        self.samples += 1
        if self.first_t is None:
            self.first_t = sample.t
        self.last_t = sample.t
        for gpu in sample.gpus:
            device = self._devices.get(gpu.index)
            if device is None:
                device = self._devices[gpu.index] = _Device(gpu.index, gpu.name)
            device.peak_mem_mb = _peak(device.peak_mem_mb, gpu.mem_used_mb)
            if any(p.run for p in gpu.processes):
                device.peak_run_mem_mb = _peak(device.peak_run_mem_mb, gpu.run_mem_mb)
            device.mem_total_mb = gpu.mem_total_mb or device.mem_total_mb
            device.max_temp_c = _peak(device.max_temp_c, gpu.temp_c)
            if gpu.util is not None:
                device.util_total += gpu.util
                device.util_count += 1
        self.peak_ram_mb = _peak(self.peak_ram_mb, sample.host.ram_used_mb)
        if sample.host.cpu_percent is not None:
            self._cpu_total += sample.host.cpu_percent
            self._cpu_count += 1
        if sample.gpu_error and not sample.gpus:
            self.gpu_error = sample.gpu_error

    def summary(self) -> SystemSummary:
        """The summary of every sample taken so far."""
        devices = [
            DeviceSummary(
                index=d.index,
                name=d.name,
                peak_mem_mb=d.peak_mem_mb,
                peak_run_mem_mb=d.peak_run_mem_mb,
                mem_total_mb=d.mem_total_mb,
                mean_util=d.util_total / d.util_count if d.util_count else None,
                max_temp_c=d.max_temp_c,
            )
            for _, d in sorted(self._devices.items())
        ]
        return SystemSummary(
            samples=self.samples,
            first_t=self.first_t,
            last_t=self.last_t,
            devices=devices,
            peak_ram_mb=self.peak_ram_mb,
            mean_cpu_percent=self._cpu_total / self._cpu_count if self._cpu_count else None,
            gpu_error=self.gpu_error,
        )


def summarize(samples: Iterable[SystemSample]) -> SystemSummary:
    """Peak GPU memory and mean utilisation per device, peak RAM and mean CPU over ``samples``."""
    accumulator = SummaryAccumulator()
    for sample in samples:
        accumulator.add(sample)
    return accumulator.summary()
