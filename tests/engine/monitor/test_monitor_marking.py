"""Run marking with real processes: a child in its own process group, a watched pid's descendants."""

import os
import subprocess
import time
from collections.abc import Iterator

import psutil
import pytest
from monitor_support import MIB, FakeNvml

from lmf_engine.monitor import marking
from lmf_engine.monitor.sampler import Sampler
from lmf_engine.monitor.sources import LiveSource


@pytest.fixture
def shell_with_child() -> Iterator[tuple[int, int]]:
    """``sh`` running a background ``sleep``: (shell pid, sleep pid)."""
    shell = subprocess.Popen(["sh", "-c", "sleep 60 & wait"])
    deadline = time.monotonic() + 10
    while not (children := psutil.Process(shell.pid).children()) and time.monotonic() < deadline:
        time.sleep(0.01)
    yield shell.pid, children[0].pid
    for process in [*children, psutil.Process(shell.pid)]:
        process.kill()
    shell.wait()


def run_flags(sampler: Sampler) -> dict[int, bool]:
    return {p.pid: p.run for p in sampler.sample_now().gpus[0].processes}


def test_the_watched_process_group_is_the_run(fake_nvml: FakeNvml, session_child: subprocess.Popen[bytes]) -> None:
    fake_nvml.devices[0].processes = [(session_child.pid, 4096 * MIB), (os.getpid(), 512 * MIB)]
    sampler = Sampler(LiveSource(), interval=1.0)
    assert run_flags(sampler) == {session_child.pid: False, os.getpid(): False}
    sampler.watch(pgid=os.getpgid(session_child.pid))
    assert run_flags(sampler) == {session_child.pid: True, os.getpid(): False}
    assert sampler.latest is not None and sampler.latest.gpus[0].run_mem_mb == 4096.0
    sampler.watch(pgid=os.getpgid(0))
    assert run_flags(sampler) == {session_child.pid: True, os.getpid(): True}
    sampler.unwatch_all()
    assert run_flags(sampler) == {session_child.pid: False, os.getpid(): False}


def test_a_watched_pid_and_its_descendants_are_the_run(fake_nvml: FakeNvml, shell_with_child: tuple[int, int]) -> None:
    shell, child = shell_with_child
    fake_nvml.devices[0].processes = [(child, 1024 * MIB), (os.getpid(), 512 * MIB)]
    sampler = Sampler(LiveSource(), interval=1.0)
    sampler.watch(pid=shell)
    assert run_flags(sampler) == {child: True, os.getpid(): False}
    sampler.unwatch_all()
    sampler.watch(pid=child)
    assert run_flags(sampler) == {child: True, os.getpid(): False}


def test_processes_are_looked_up_once_and_only_when_watched(
    fake_nvml: FakeNvml, session_child: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[int] = []
    real_getpgid = os.getpgid

    def getpgid(pid: int) -> int:
        lookups.append(pid)
        return real_getpgid(pid)

    monkeypatch.setattr(marking.os, "getpgid", getpgid)
    fake_nvml.devices[0].processes = [(session_child.pid, 4096 * MIB)]
    sampler = Sampler(LiveSource(), interval=1.0)
    sampler.sample_now()
    assert lookups == [], "nothing is watched: no lookup"
    sampler.watch(pgid=12345)
    for _ in range(3):
        sampler.sample_now()
    assert lookups == [session_child.pid]
    fake_nvml.devices[0].processes = []
    sampler.sample_now()
    fake_nvml.devices[0].processes = [(session_child.pid, 4096 * MIB)]
    sampler.sample_now()
    assert lookups == [session_child.pid] * 2, "a process gone from the GPUs leaves the cache"
