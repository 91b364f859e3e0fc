"""Encode a lazy split's shards in a background process while training runs, so the next epoch and run read them.

The process is forked from the trainer before the model loads (it inherits the plan, converter and encoder instead
of importing and loading them again), runs at the lowest CPU priority so it only takes cores training leaves idle,
and dies with its parent. It writes shard after shard (:class:`~.shards.ShardStore`), skipping those already done
by an earlier run, and counts rows in shared memory for the trainer's progress events. With ``on_bad_row: fail`` it
stops at the first shard holding a bad row; the trainer then fails with that row's file and line
(:meth:`BackgroundEncoder.check`).
"""

import ctypes
import multiprocessing
import os
import signal
from dataclasses import dataclass
from typing import Any

from .errors import BadRowsError
from .lazy_rows import LazyRows
from .processors.runner import PARALLELISM_ENV
from .rows import BadRowReport

BATCH = 256
NICE = 19


def _die_with_parent() -> None:
    """Ask Linux to end this process when its parent ends (a killed trainer leaves no encoder behind)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def encode_shard(split: LazyRows, shard: int) -> BadRowReport:
    """Convert and encode one shard of ``split`` and write it; the bad rows it found."""
    store = split.store
    assert store is not None
    start, end = store.bounds(shard)
    report = BadRowReport()
    rows: list[dict[str, Any] | None] = []
    for batch_start in range(start, end, BATCH):
        converted = []
        for position in range(batch_start, min(batch_start + BATCH, end)):
            row, bad = split.encoder.convert(split.plan, position)
            if bad is not None:
                report.add([bad], 1)
            converted.append(row)
        rows.extend(split.encoder.encode_rows(converted))
    store.write(shard, rows, report)
    return report


def _run(splits: list[LazyRows], done: Any, bad: Any, fail: bool) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):  # not the trainer's stop handlers (forked with it): just end
        signal.signal(signum, signal.SIG_DFL)
    _die_with_parent()
    os.nice(NICE)
    os.environ[PARALLELISM_ENV] = "false"
    for split in splits:
        assert split.store is not None
        for shard in range(split.store.count):
            start, end = split.store.bounds(shard)
            if not split.store.is_done(shard):
                report = encode_shard(split, shard)
                if report.count:
                    with bad.get_lock():
                        bad.value += report.count
                    if fail:
                        return
            with done.get_lock():
                done.value += end - start


@dataclass
class BackgroundEncoder:
    """The background process and its shared counters; ``total`` is the rows of every split it encodes."""

    splits: list[LazyRows]
    total: int
    fail: bool
    process: Any = None
    done: Any = None
    bad: Any = None

    def start(self) -> "BackgroundEncoder":
        context = multiprocessing.get_context("fork")
        self.done = context.Value("q", 0)
        self.bad = context.Value("q", 0)
        self.process = context.Process(
            target=_run, args=(self.splits, self.done, self.bad, self.fail), name="lmf-encode", daemon=True
        )
        self.process.start()
        return self

    @property
    def rows_done(self) -> int:
        return int(self.done.value) if self.done is not None else 0

    @property
    def finished(self) -> bool:
        """All shards written (or the process ended early on a bad row or an error)."""
        return self.process is not None and not self.process.is_alive()

    def bad_rows(self) -> BadRowReport:
        report = BadRowReport()
        for split in self.splits:
            report.merge(split.bad_rows())
        return report

    def check(self) -> None:
        """Raise :class:`BadRowsError` when ``on_bad_row: fail`` and the encoder found a bad row."""
        if self.fail and self.bad is not None and self.bad.value:
            report = self.bad_rows()
            if report.first:
                raise BadRowsError(report.first, report.count)

    def stop(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.terminate()
            self.process.join(5)
