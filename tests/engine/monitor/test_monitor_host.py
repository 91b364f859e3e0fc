"""Host readings: CPU share and disk/network rates as deltas between readings, RAM, the workspace's disk."""

import time
from collections import namedtuple
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest

from lmf_engine.monitor import host
from lmf_engine.monitor.host import HostReader

MIB = 1 << 20
Times = namedtuple("Times", "user system idle iowait guest")


class Counters:
    """Scripted psutil counters and clock: ``advance`` moves time and every counter on."""

    def __init__(self) -> None:
        self.now = 0.0
        self.times = Times(user=100.0, system=50.0, idle=800.0, iowait=10.0, guest=5.0)
        self.disk: SimpleNamespace | None = SimpleNamespace(read_bytes=0, write_bytes=0)
        self.net = SimpleNamespace(bytes_recv=0, bytes_sent=0)

    def advance(self, seconds: float, busy: float, idle: float, read_mib: int, recv_mib: int) -> None:
        self.now += seconds
        t = self.times
        self.times = Times(t.user + busy, t.system, t.idle + idle, t.iowait, t.guest + 1.0)
        if self.disk is not None:
            self.disk = SimpleNamespace(read_bytes=self.disk.read_bytes + read_mib * MIB, write_bytes=0)
        self.net = SimpleNamespace(bytes_recv=self.net.bytes_recv + recv_mib * MIB, bytes_sent=self.net.bytes_sent)


@pytest.fixture
def counters(monkeypatch: pytest.MonkeyPatch) -> Counters:
    scripted = Counters()
    monkeypatch.setattr(host.psutil, "cpu_times", lambda: scripted.times)
    monkeypatch.setattr(host.psutil, "disk_io_counters", lambda: scripted.disk)
    monkeypatch.setattr(host.psutil, "net_io_counters", lambda: scripted.net)
    monkeypatch.setattr(host.psutil, "cpu_count", lambda: 8)
    memory = SimpleNamespace(total=32768 * MIB, available=8192 * MIB, used=1)
    monkeypatch.setattr(host.psutil, "virtual_memory", lambda: memory)
    return scripted


def test_rates_are_deltas_over_a_window(counters: Counters, tmp_path: Path) -> None:
    reader = HostReader(tmp_path, clock=lambda: counters.now)
    first = reader.read()
    assert (first.cpu_percent, first.disk_read_mb_s, first.net_recv_mb_s) == (None, None, None)
    assert (first.cpu_count, first.ram_used_mb, first.ram_total_mb) == (8, 24576.0, 32768.0)
    counters.advance(2.0, busy=3.0, idle=1.0, read_mib=8, recv_mib=1)
    second = reader.read()
    assert second.cpu_percent == 75.0, "guest time is inside user time: not counted twice"
    assert (second.disk_read_mb_s, second.disk_write_mb_s) == (4.0, 0.0)
    assert (second.net_recv_mb_s, second.net_sent_mb_s) == (0.5, 0.0)
    counters.advance(0.1, busy=0.0, idle=0.1, read_mib=100, recv_mib=0)
    assert reader.read().disk_read_mb_s == 4.0, "a window under min_window_s repeats the last figures"
    counters.advance(1.0, busy=0.0, idle=1.0, read_mib=0, recv_mib=0)
    third = reader.read()
    assert third.cpu_percent == 0.0 and third.disk_read_mb_s == pytest.approx(100 / 1.1)


def test_missing_or_reset_counters_give_none(counters: Counters, tmp_path: Path) -> None:
    reader = HostReader(tmp_path, clock=lambda: counters.now)
    counters.disk = None
    counters.advance(1.0, busy=1.0, idle=1.0, read_mib=0, recv_mib=1)
    sample = reader.read()
    assert sample.disk_read_mb_s is None and sample.net_recv_mb_s == 1.0
    counters.net = SimpleNamespace(bytes_recv=0, bytes_sent=0)
    counters.advance(1.0, busy=1.0, idle=1.0, read_mib=0, recv_mib=0)
    assert reader.read().net_recv_mb_s is None, "a counter that went back (reset) is no rate"


def test_psutil_errors_give_none(counters: Counters, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise PermissionError("no access")

    monkeypatch.setattr(host.psutil, "virtual_memory", refuse)
    sample = HostReader(tmp_path / "missing", clock=lambda: counters.now).read()
    assert (sample.ram_used_mb, sample.ram_total_mb, sample.disk_used_gb, sample.disk_total_gb) == (None,) * 4


def test_the_real_host(tmp_path: Path) -> None:
    reader = HostReader(tmp_path, min_window_s=0.05)
    time.sleep(0.1)
    sample = reader.read()
    assert sample.cpu_count == psutil.cpu_count()
    assert sample.cpu_percent is not None and 0.0 <= sample.cpu_percent <= 100.0
    assert 0 < sample.ram_used_mb < sample.ram_total_mb
    usage = psutil.disk_usage(str(tmp_path))
    assert sample.disk_total_gb == pytest.approx(usage.total / (1 << 30))
    assert sample.net_recv_mb_s is not None and sample.net_recv_mb_s >= 0.0
