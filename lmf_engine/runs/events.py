"""``events.jsonl``: the run's append-only event stream.

Each line is one JSON object ``{"t": unix_time, "kind": ..., ...fields}``, flushed when written. Readers keep a byte
offset and read on from it; a half-written last line is left for the next read.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from lmf_engine.util.jsonl import read_jsonl

from .record import RunRecordError, read_run

EVENTS_FILE = "events.jsonl"
EVENT_KINDS = frozenset({"log", "eval", "progress", "checkpoint", "state", "error"})


class EventWriter:
    """Appends events to ``<run_dir>/events.jsonl``, one flushed line each."""

    def __init__(self, run_dir: str | os.PathLike[str]) -> None:
        self.path = Path(run_dir) / EVENTS_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle: IO[str] | None = None

    def emit(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Append one event of ``kind`` (log, eval, progress, checkpoint, state, error) and return it."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}; expected one of {', '.join(sorted(EVENT_KINDS))}")
        event = {"t": time.time(), "kind": kind, **fields}
        line = json.dumps(event, ensure_ascii=False, default=str) + "\n"
        if self._handle is None:
            self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open across emits
        self._handle.write(line)
        self._handle.flush()
        return event

    def close(self) -> None:
        """Close the file; a later :meth:`emit` opens it again."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def read_events(run_dir: str | os.PathLike[str], offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Read the complete events after byte ``offset``; return them and the offset to read on from.

    A last line without its newline is not consumed. Complete lines that are not JSON objects are skipped. A file
    shorter than ``offset`` (it was replaced) is read again from the start.
    """
    return read_jsonl(Path(run_dir) / EVENTS_FILE, offset)


def _run_is_over(run_dir: Path) -> bool:
    try:
        return read_run(run_dir).final
    except RunRecordError:
        return True


def follow_events(
    run_dir: str | os.PathLike[str],
    offset: int = 0,
    *,
    poll_interval: float = 0.5,
    is_done: Callable[[], bool] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield events as they are appended, until ``is_done()`` (default: run.json is final) and all are read."""
    run_dir = Path(run_dir)
    done = is_done or (lambda: _run_is_over(run_dir))
    while True:
        finished = done()
        events, offset = read_events(run_dir, offset)
        yield from events
        if finished:
            return
        if not events:
            time.sleep(poll_interval)
