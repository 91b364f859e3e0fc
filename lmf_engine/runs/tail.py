"""Following a file another process appends to: only the new bytes, whole lines only, a replaced file noticed.

:class:`FileTail` keeps a byte offset and the last bytes it consumed. A file that got shorter, another file under
the same name (a new inode), or different bytes just before the offset (rewritten in place, as a resumed run trims
its trainer_log.jsonl) is *restarted*: the reader drops what it built from it and reads it again from the start.

JSON lines are parsed with orjson (a few times faster than the json module, which is what makes a 100,000-step run
open in well under a second); a line orjson refuses, such as one with ``NaN`` written by Python's json, falls back
to the json module.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

CHUNK_BYTES = 1 << 18
"""Bytes read at a time: what a first read of a large file holds in memory at once (plus one line)."""
CHECK_BYTES = 64
"""Bytes before the offset compared on each change, to notice a file rewritten in place."""


def file_stamp(path: Path) -> tuple[int, int] | None:
    """``(mtime_ns, size)`` of a file, None when it does not exist: enough to tell that it changed."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


class TailState(enum.Enum):
    """What happened to a followed file since the last look."""

    SAME = "same"
    GROWN = "grown"
    RESTARTED = "restarted"
    MISSING = "missing"


class FileTail:
    """Reads the complete lines a file gained since the last read; see the module's docstring."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.size = 0
        self.mtime: float | None = None
        self._stamp: tuple[int, int, int, int] | None = None
        self._check = b""
        self.drained = True
        """False while a reader stopped taking :meth:`chunks` before the end of the file (the next check is GROWN)."""

    def reset(self) -> None:
        """Start again from the beginning of the file at the next read."""
        self.offset = 0
        self._stamp = None
        self._check = b""

    def check(self) -> TailState:
        """Look at the file (one ``stat``, and a short read when it changed) without consuming anything; ``size``
        and ``mtime`` are then the file's.

        On RESTARTED (and on MISSING after something was read) the tail is reset, so the next :meth:`chunks`
        reads from the start.
        """
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self.size, self.mtime = 0, None
            if self.offset or self._stamp is not None:
                self.reset()
                return TailState.RESTARTED
            return TailState.MISSING
        self.size, self.mtime = st.st_size, st.st_mtime
        stamp = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        previous = self._stamp
        if stamp == previous:
            return TailState.SAME if self.drained else TailState.GROWN
        if previous is None:
            self._stamp = stamp
            return TailState.GROWN if st.st_size > self.offset else TailState.SAME
        if stamp[:2] != previous[:2] or st.st_size < self.offset or not self._same_check():
            self.reset()
            self._stamp = stamp
            return TailState.RESTARTED
        self._stamp = stamp
        return TailState.GROWN if st.st_size > self.offset else TailState.SAME

    def _same_check(self) -> bool:
        if not self._check:
            return True
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset - len(self._check))
                return handle.read(len(self._check)) == self._check
        except OSError:
            return False

    def skip_to(self, offset: int) -> None:
        """Start reading at ``offset`` (the first, partial line there is dropped by :meth:`chunks`)."""
        self.offset = offset
        self._check = b""

    def chunks(self, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        """Yield blocks of complete lines (each ending with a newline) from the offset on, advancing it.

        A last line without its newline is left for the next read. After :meth:`skip_to` the partial first line is
        dropped.
        """
        drop_first = self.offset > 0 and not self._check
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - closed in the finally below, across yields
        except FileNotFoundError:
            return
        try:
            st = os.fstat(handle.fileno())
            if self._stamp is not None and (st.st_dev, st.st_ino) != self._stamp[:2]:
                return  # replaced since check(): the next check() restarts
            handle.seek(self.offset)
            pending = b""
            self.drained = False
            while True:
                data = handle.read(chunk_bytes)
                if not data:
                    self.drained = True
                    return
                data = pending + data if pending else data
                end = data.rfind(b"\n") + 1
                if end == 0:
                    pending = data
                    continue
                block, pending = data[:end], data[end:]
                self.offset += end
                self._check = block[-CHECK_BYTES:]
                if drop_first:
                    drop_first = False
                    block = block[block.find(b"\n") + 1 :]
                if block:
                    yield block
        finally:
            handle.close()


def parse_line(raw: bytes) -> Any:
    """One JSON value of a line, or None when the line is not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            return json.loads(raw)
        except ValueError:
            return None


def json_objects(block: bytes) -> list[dict[str, Any]]:
    """The JSON objects of a block of lines; blank lines, lines that are not JSON and non-objects are skipped.

    The block is parsed in one call, as a JSON array of its lines, when that gives one value per line (a third
    faster than a call per line); otherwise (a blank or broken line) line by line.
    """
    body = block.rstrip(b"\n")
    if not body:
        return []
    try:
        values = orjson.loads(b"[" + body.replace(b"\n", b",") + b"]")
    except orjson.JSONDecodeError:
        values = None
    if values is None or len(values) != body.count(b"\n") + 1:
        values = [parse_line(raw) for raw in body.split(b"\n") if raw.strip()]
    return [value for value in values if type(value) is dict]
