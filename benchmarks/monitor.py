"""What system monitoring costs: the sampler's CPU share at 1 Hz and the cost of one sample, beside bare calls.

Usage: python benchmarks/monitor.py [--seconds 60] [--repeats 200]

- CPU share: this process's CPU time over wall time while the sampler thread samples once a second for ``--seconds``
  (the main thread sleeps), beside a reference loop making the same psutil and pynvml calls once a second without
  our code (no sampler, no marking, no sample objects). Both run in alternating blocks of 10 s, so that a busy
  neighbour on a shared machine weighs on both alike. The share is of one core.
- One sample: the wall time of ``Sampler.sample_now()`` (median and 10th percentile over ``--repeats`` back-to-back
  samples, the host's minimum window turned off so that each reads every counter) beside one pass of the bare calls.

Without an NVIDIA driver both sides read the host only (ours also returns the cached "no driver" sentence).
"""

import argparse
import contextlib
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from lmf_engine.monitor.sampler import Sampler
from lmf_engine.monitor.sources import LiveSource

BLOCK_S = 10.0


class BareCalls:
    """The readings of one sample as direct psutil and pynvml calls: what any monitor has to pay."""

    def __init__(self, disk_path: Path) -> None:
        self.disk_path = str(disk_path)
        self.nvml: Any = None
        self.handles: list[Any] = []
        try:
            import pynvml

            pynvml.nvmlInit()
            self.nvml = pynvml
            self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        except Exception:
            self.nvml = None

    def read(self) -> None:
        psutil.cpu_times()
        psutil.virtual_memory()
        psutil.disk_usage(self.disk_path)
        psutil.disk_io_counters()
        psutil.net_io_counters()
        nvml = self.nvml
        for handle in self.handles:
            nvml.nvmlDeviceGetUtilizationRates(handle)
            nvml.nvmlDeviceGetMemoryInfo(handle)
            nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU)
            nvml.nvmlDeviceGetPowerUsage(handle)
            nvml.nvmlDeviceGetEnforcedPowerLimit(handle)
            nvml.nvmlDeviceGetClockInfo(handle, nvml.NVML_CLOCK_SM)
            nvml.nvmlDeviceGetClockInfo(handle, nvml.NVML_CLOCK_MEM)
            for process in nvml.nvmlDeviceGetComputeRunningProcesses(handle):
                with contextlib.suppress(psutil.Error):
                    psutil.Process(process.pid).name()

    def close(self) -> None:
        if self.nvml is not None:
            self.nvml.nvmlShutdown()


def cpu_share(run_for: Callable[[float], None], seconds: float) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of this process while ``run_for(seconds)`` runs."""
    cpu, wall = time.process_time(), time.monotonic()
    run_for(seconds)
    return time.process_time() - cpu, time.monotonic() - wall


def sampler_for(sampler: Sampler) -> Callable[[float], None]:
    def run(seconds: float) -> None:
        unsubscribe = sampler.subscribe(lambda sample: None)
        sampler.start()
        time.sleep(seconds)
        sampler.stop()
        unsubscribe()

    return run


def bare_loop_for(bare: BareCalls) -> Callable[[float], None]:
    def run(seconds: float) -> None:
        due = time.monotonic()
        end = due + seconds
        while due < end:
            bare.read()
            due += 1.0
            time.sleep(max(0.0, min(due, end) - time.monotonic()))

    return run


def sample_costs(read: Callable[[], object], repeats: int) -> list[float]:
    costs = []
    for _ in range(repeats):
        start = time.perf_counter()
        read()
        costs.append(time.perf_counter() - start)
    return costs


def p10(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of 1 Hz sampling, each side")
    parser.add_argument("--repeats", type=int, default=200, help="back-to-back samples for the cost of one")
    args = parser.parse_args()

    disk_path = Path.cwd()
    source = LiveSource(disk_path)
    sampler = Sampler(source, interval=1.0)
    bare = BareCalls(disk_path)
    first = sampler.sample_now()
    gpus = f"{len(first.gpus)} GPU(s)" if first.gpus else f"no GPU reading ({first.gpu_error})"
    print(f"monitor benchmark: {psutil.cpu_count()} cores, {gpus}, pid {os.getpid()}")

    ours_cpu = ours_wall = bare_cpu = bare_wall = 0.0
    left = args.seconds
    while left > 0:
        block = min(BLOCK_S, left)
        cpu, wall = cpu_share(sampler_for(sampler), block)
        ours_cpu, ours_wall = ours_cpu + cpu, ours_wall + wall
        cpu, wall = cpu_share(bare_loop_for(bare), block)
        bare_cpu, bare_wall = bare_cpu + cpu, bare_wall + wall
        left -= block

    source.host.min_window_s = 0.0
    ours_costs = sample_costs(sampler.sample_now, args.repeats)
    bare_costs = sample_costs(bare.read, args.repeats)
    sampler.close()
    bare.close()

    ours_share, bare_share = ours_cpu / ours_wall, bare_cpu / bare_wall
    rows = [
        ("CPU share at 1 Hz (% of a core)", f"{ours_share:.3%}", f"{bare_share:.3%}", ours_share / bare_share),
        (
            "one sample, median (ms)",
            f"{statistics.median(ours_costs) * 1e3:.3f}",
            f"{statistics.median(bare_costs) * 1e3:.3f}",
            statistics.median(ours_costs) / statistics.median(bare_costs),
        ),
        (
            "one sample, p10 (ms)",
            f"{p10(ours_costs) * 1e3:.3f}",
            f"{p10(bare_costs) * 1e3:.3f}",
            p10(ours_costs) / p10(bare_costs),
        ),
    ]
    print(f"\n{'':34}{'sampler':>12}{'bare calls':>12}{'ratio':>8}")
    for label, ours, reference, ratio in rows:
        print(f"{label:34}{ours:>12}{reference:>12}{ratio:>7.2f}x")
    print(f"\n{args.seconds:g} s each side at 1 Hz; {args.repeats} back-to-back samples each side")


if __name__ == "__main__":
    main()
