"""Which GPU processes belong to the watched runs: those in a watched process group, or a watched pid and its
descendants.

Only the pids NVML lists are looked up, once each: a process's group and ancestors are cached for as long as it
keeps appearing on a GPU. The watched set is replaced as a whole (one tuple assignment), so a consumer's thread may
change it while the sampler's thread marks.
"""

from __future__ import annotations

import os

import psutil

from .samples import SystemSample


class RunMarker:
    """Sets ``GpuProcess.run`` for the processes of the watched runs."""

    def __init__(self) -> None:
        self._watched: tuple[frozenset[int], frozenset[int]] = (frozenset(), frozenset())
        self._groups: dict[int, int | None] = {}
        self._ancestors: dict[int, frozenset[int]] = {}

    def watch(self, pgid: int | None = None, pid: int | None = None) -> None:
        """Also mark the processes of process group ``pgid`` and the process ``pid`` with its descendants."""
        pgids, pids = self._watched
        self._watched = (pgids | {pgid} if pgid else pgids, pids | {pid} if pid else pids)

    def unwatch_all(self) -> None:
        self._watched = (frozenset(), frozenset())

    def mark(self, sample: SystemSample) -> None:
        """Mark the sample's GPU processes that belong to a watched run (marks already set are kept)."""
        pgids, pids = self._watched
        seen: set[int] = set()
        for gpu in sample.gpus:
            for process in gpu.processes:
                seen.add(process.pid)
                if not process.run and (pgids or pids):
                    process.run = self._owned(process.pid, pgids, pids)
        for cache in (self._groups, self._ancestors):
            for pid in cache.keys() - seen:
                del cache[pid]

    def _owned(self, pid: int, pgids: frozenset[int], pids: frozenset[int]) -> bool:
        if pid in pids:
            return True
        if pgids and self._group(pid) in pgids:
            return True
        return bool(pids) and not pids.isdisjoint(self._ancestry(pid))

    def _group(self, pid: int) -> int | None:
        if pid not in self._groups:
            try:
                self._groups[pid] = os.getpgid(pid)
            except OSError:  # gone, or in another pid namespace
                self._groups[pid] = None
        return self._groups[pid]

    def _ancestry(self, pid: int) -> frozenset[int]:
        if pid not in self._ancestors:
            try:
                self._ancestors[pid] = frozenset(parent.pid for parent in psutil.Process(pid).parents())
            except (psutil.Error, OSError):
                self._ancestors[pid] = frozenset()
        return self._ancestors[pid]
