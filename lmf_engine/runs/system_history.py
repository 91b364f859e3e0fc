"""A run's system samples over its life: a bounded, evenly thinned list, and a summary of every sample seen.

The summary (:class:`lmf_engine.monitor.summary.SummaryAccumulator`) is kept up to date one sample at a time, so
that a run of days (tens of thousands of samples) never needs them all in memory.
"""

from __future__ import annotations

import math
from typing import Any

from lmf_engine.monitor.samples import SystemSample


def _finite(value: Any) -> float | None:
    """A JSON number that is finite, as the samples module reads one; else None."""
    kind = type(value)
    if (kind is float or kind is int) and math.isfinite(value):
        return float(value)
    return None


class GpuPeak:
    """The ``peak_gpu_mem_mb`` of :func:`~lmf_engine.monitor.summary.summarize`, taken from samples in their JSON
    form without building :class:`SystemSample` objects (a few times cheaper: the runs table reads the whole
    system.jsonl of every run)."""

    def __init__(self) -> None:
        self._mem: dict[int, float] = {}
        self._run_mem: dict[int, float] = {}

    def add(self, sample: dict[str, Any]) -> None:
        """Count in one ``system.jsonl`` object."""
        for gpu in sample.get("gpus") or ():
            if type(gpu) is not dict:
                continue
            try:
                index = int(gpu.get("index") or 0)
            except (TypeError, ValueError):
                continue
            used = _finite(gpu.get("mem_used_mb"))
            if used is not None and used > self._mem.get(index, -math.inf):
                self._mem[index] = used
            processes = [p for p in gpu.get("processes") or () if type(p) is dict and p.get("run")]
            if processes:
                own = sum(_finite(p.get("mem_mb")) or 0.0 for p in processes)
                if own > self._run_mem.get(index, -math.inf):
                    self._run_mem[index] = own

    @property
    def peak_mb(self) -> float | None:
        """The largest peak memory of any device (the run's own when known); None without GPU readings."""
        peaks = [self._run_mem.get(index) or self._mem.get(index) for index in {*self._mem, *self._run_mem}]
        found = [peak for peak in peaks if peak is not None]
        return max(found) if found else None


class ThinnedSamples:
    """At most ``max_samples`` samples spread evenly over the run, and always the newest one last.

    Every ``stride``-th sample is kept; when the list grows past ``max_samples`` every other kept sample is dropped
    and the stride doubles. The newest sample is kept too, until a newer one replaces it, so that ``samples[-1]``
    is always the latest reading.
    """

    def __init__(self, max_samples: int) -> None:
        if max_samples < 2:
            raise ValueError(f"max_samples must be at least 2, got {max_samples}")
        self.max_samples = max_samples
        self.samples: list[SystemSample] = []
        self._stride = 1
        self._seen = 0
        self._newest_extra = False

    def add(self, sample: SystemSample) -> None:
        """Keep ``sample`` if it falls on the stride, else only until the next one comes."""
        if self._newest_extra:
            self.samples.pop()
        on_stride = self._seen % self._stride == 0
        self._seen += 1
        self.samples.append(sample)
        self._newest_extra = not on_stride
        if len(self.samples) > self.max_samples:
            self._thin()

    def _thin(self) -> None:
        newest = self.samples[-1]
        regular = self.samples[:-1] if self._newest_extra else self.samples
        self.samples = regular[::2]
        self._stride *= 2
        self._newest_extra = self.samples[-1] is not newest
        if self._newest_extra:
            self.samples.append(newest)

    def clear(self) -> None:
        """Forget every sample."""
        self.samples = []
        self._stride = 1
        self._seen = 0
        self._newest_extra = False
