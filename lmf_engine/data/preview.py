"""Open a dataset file for browsing without reading it whole: first page, row N, row count, column search.

JSON Lines and text files are read line by line with a sparse index of byte offsets (one every ``STRIDE`` rows),
so row N costs one seek plus at most ``STRIDE`` lines, and a 1 GB file opens as fast as a small one. A JSON array
is decoded item by item from a buffered stream. Parquet and Arrow files are read by row group / record batch.

Rows for display are read with ``keep=N`` (:meth:`RowSource.page`, :meth:`RowSource.iter_rows`): every string
longer than N characters is cut to N characters followed by ``… 52,428,000 more characters`` and becomes a
:class:`~.cut_text.CutText` that knows its full length (see :mod:`.cut_text`). A row whose JSON is longer than
``LAZY_BYTES`` (a JSON Lines line, or an item of a JSON array) is then never decoded whole: it is parsed from the
file in chunks and only the first N characters of each string are kept, so a page costs a bounded amount of memory
whatever a cell holds, and one pass over the row at C speed. Without ``keep`` (statistics, search, the pipeline's
samples) rows are decoded whole, as they are.
"""

import bisect
import codecs
import csv
import io
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cut_text import CutText, LazyJson, cut_value
from .errors import TOO_DEEP

STRIDE = 512
CHUNK = 1 << 16
LAZY_BYTES = 1 << 20
"""With ``keep``, a row longer than this (bytes of a JSON line, characters of an array item) is parsed lazily."""
PREVIEW_CHARS = 2000
"""How many characters of each text a preview shows (``data preview``, the TUI's rows) before ``… N more``."""

Progress = Callable[[int, int], None]


class PreviewError(ValueError):
    """A file that cannot be browsed; the message names the file and, where known, the line and column."""


@dataclass
class Cancel:
    """A flag a caller sets to stop a long scan (count, search) early."""

    event: threading.Event

    @classmethod
    def new(cls) -> "Cancel":
        return cls(threading.Event())

    def set(self) -> None:
        self.event.set()

    @property
    def cancelled(self) -> bool:
        return self.event.is_set()


class RowSource:
    """Rows of one file, each a dict. Subclasses implement :meth:`iter_rows`; the rest builds on it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.size = self.path.stat().st_size
        self._count: int | None = None
        self._lock = threading.Lock()

    @property
    def known_count(self) -> int | None:
        """The number of rows if known without a scan (or after one), else None."""
        return self._count

    def iter_rows(self, start: int = 0, keep: int | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(index, row)`` from row ``start``; with ``keep``, strings are cut to ``keep`` characters."""
        raise NotImplementedError

    def page(self, start: int, size: int, keep: int | None = None) -> list[dict[str, Any]]:
        """Rows ``start`` to ``start + size`` (fewer at the end of the file), strings cut to ``keep`` if given."""
        rows = []
        for index, row in self.iter_rows(start, keep):
            if index >= start + size:
                break
            rows.append(row)
        return rows

    def head(self, size: int = 50, keep: int | None = None) -> list[dict[str, Any]]:
        return self.page(0, size, keep)

    def row(self, index: int) -> dict[str, Any]:
        """Row ``index`` (0-based); IndexError past the end."""
        rows = self.page(index, 1)
        if not rows:
            raise IndexError(f"{self.path}: no row {index}")
        return rows[0]

    def count(self, progress: Progress | None = None, cancel: Cancel | None = None) -> int | None:
        """Count rows, scanning if needed; ``progress(bytes_done, bytes_total)``; None when cancelled."""
        if self._count is not None:
            return self._count
        total = sum(1 for _ in self._scan(progress, cancel))
        if cancel is not None and cancel.cancelled:
            return None
        self._count = total
        return total

    def _scan(self, progress: Progress | None, cancel: Cancel | None) -> Iterator[None]:
        for _ in self.iter_rows(0):
            if cancel is not None and cancel.cancelled:
                return
            yield None

    def search(
        self, query: str, column: str | None = None, start: int = 0, cancel: Cancel | None = None
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """Rows whose ``column`` (or any column) contains ``query``, case-insensitively, as text or JSON text."""
        needle = query.casefold()
        for index, row in self.iter_rows(start):
            if cancel is not None and cancel.cancelled:
                return
            values = [row.get(column)] if column is not None else list(row.values())
            for value in values:
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                if needle in text.casefold():
                    yield index, row
                    break

    def columns(self) -> list[str]:
        """Column names seen in the first rows."""
        names: dict[str, None] = {}
        for row in self.head(20, keep=64):
            names.update(dict.fromkeys(row))
        return list(names)


class LineRows(RowSource):
    """JSON Lines (``parse=True``) or plain text lines (each row ``{"text": line}``), with a sparse offset index."""

    def __init__(self, path: Path, parse: bool) -> None:
        super().__init__(path)
        self.parse = parse
        self._rows_at: list[int] = [0]  # row numbers of the checkpoints
        self._offsets: list[int] = [0]  # and their byte offsets

    def _decode(self, raw: bytes, line_no: int) -> dict[str, Any] | None:
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if not text.strip():
            return None
        if not self.parse:
            return {"text": text}
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PreviewError(f"{self.path}:{line_no}:{exc.colno}: invalid JSON: {exc.msg}") from None
        except RecursionError:
            raise PreviewError(f"{self.path}:{line_no}: {TOO_DEEP}") from None
        if not isinstance(value, dict):
            raise PreviewError(f"{self.path}:{line_no}: each line must be a JSON object, got {type(value).__name__}")
        return value

    def _lazy(self, handle: io.BufferedReader, raw: bytes, line_no: int, keep: int) -> tuple[Any, int]:
        """A line longer than LAZY_BYTES whose first bytes are ``raw``: its row parsed lazily, and its length."""
        begin = handle.tell()
        end = begin
        while chunk := handle.read(CHUNK * 16):
            newline = chunk.find(b"\n")
            if newline >= 0:
                end += newline + 1
                break
            end += len(chunk)
        handle.seek(begin)
        decoder = codecs.getincrementaldecoder("utf-8")("replace")

        def more() -> str:
            left = end - handle.tell()
            return decoder.decode(handle.read(min(CHUNK * 4, left)), final=left <= CHUNK * 4) if left > 0 else ""

        first = decoder.decode(raw)
        try:
            if not self.parse:
                total, kept, tail = len(first), first[:keep], first
                while text := more():
                    total, tail = total + len(text), text
                    kept += text[: keep - len(kept)]
                total -= len(tail) - len(tail.rstrip("\r\n"))
                text = CutText(kept, total) if total > len(kept) else kept.rstrip("\r\n")
                return {"text": text}, end - begin + len(raw)
            parser = LazyJson(first, 0, more, keep)
            value = parser.value()
            if parser.peek():
                raise parser._fail("Extra data")
        except ValueError as exc:
            what, pos = exc.args if len(exc.args) == 2 else (str(exc), 0)
            raise PreviewError(f"{self.path}:{line_no}:{pos + 1}: invalid JSON: {what}") from None
        finally:
            handle.seek(end)
        if not isinstance(value, dict):
            raise PreviewError(f"{self.path}:{line_no}: each line must be a JSON object, got {type(value).__name__}")
        return value, end - begin + len(raw)

    def iter_rows(self, start: int = 0, keep: int | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
        with self._lock:
            slot = bisect.bisect_right(self._rows_at, start) - 1
            index, offset = self._rows_at[slot], self._offsets[slot]
        limit = LAZY_BYTES + 1 if keep is not None else -1
        with self.path.open("rb") as handle:
            handle.seek(offset)
            line_no = None
            while raw := handle.readline(limit):
                line_no = (line_no or 0) + 1
                length = len(raw)
                if keep is not None and length == limit and not raw.endswith(b"\n"):
                    row, length = self._lazy(handle, raw, line_no, keep)
                else:
                    row = self._decode(raw, line_no)
                    if row is not None and keep is not None:
                        row = cut_value(row, keep)
                if row is None:
                    offset += length
                    continue
                if index % STRIDE == 0:
                    self._remember(index, offset)
                offset += length
                if index >= start:
                    yield index, row
                index += 1
        self._count = index

    def _remember(self, index: int, offset: int) -> None:
        with self._lock:
            if index > self._rows_at[-1]:
                self._rows_at.append(index)
                self._offsets.append(offset)

    def _scan(self, progress: Progress | None, cancel: Cancel | None) -> Iterator[None]:
        """Count non-blank lines in big chunks, without decoding them."""
        done = 0
        tail = b"\n"
        with self.path.open("rb") as handle:
            while chunk := handle.read(CHUNK * 16):
                if cancel is not None and cancel.cancelled:
                    return
                lines = (tail + chunk).split(b"\n")
                tail = lines.pop()
                for line in lines:
                    if line.strip():
                        yield None
                done += len(chunk)
                if progress is not None:
                    progress(done, self.size)
        if tail.strip():
            yield None


class _Stream:
    """A text buffer over a file that grows on demand and forgets what was consumed."""

    def __init__(self, handle: io.TextIOBase) -> None:
        self.handle = handle
        self.text = ""
        self.pos = 0
        self.line = 1  # line number of text[0]

    def more(self, size: int = CHUNK) -> bool:
        chunk = self.handle.read(size)
        if not chunk:
            return False
        self.line += self.text.count("\n", 0, self.pos)
        self.text = self.text[self.pos :] + chunk
        self.pos = 0
        return True

    def peek(self) -> str:
        while self.pos >= len(self.text):
            if not self.more():
                return ""
        return self.text[self.pos]

    def skip_ws(self) -> None:
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.text) or not self.more():
                return

    def where(self, pos: int) -> str:
        line = self.line + self.text.count("\n", 0, pos)
        return f"{line}:{pos - self.text.rfind(chr(10), 0, pos)}"


class JsonArrayRows(RowSource):
    """A JSON array of objects, decoded item by item from a buffered stream."""

    def iter_rows(self, start: int = 0, keep: int | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
        decoder = json.JSONDecoder()
        with self.path.open("r", encoding="utf-8", errors="replace") as handle:
            stream = _Stream(handle)
            stream.skip_ws()
            if stream.peek() != "[":
                raise PreviewError(f"{self.path}:{stream.where(stream.pos)}: expected a JSON array of objects")
            stream.pos += 1
            index = 0
            while True:
                stream.skip_ws()
                char = stream.peek()
                if char == "]":
                    break
                if index > 0:
                    if char != ",":
                        raise PreviewError(
                            f"{self.path}:{stream.where(stream.pos)}: invalid JSON: expected ',' or ']'"
                        )
                    stream.pos += 1
                    stream.skip_ws()
                value = self._decode_item(stream, decoder, keep)
                if not isinstance(value, dict):
                    raise PreviewError(f"{self.path}: item {index} is not a JSON object")
                if index >= start:
                    yield index, value if keep is None else cut_value(value, keep)
                index += 1
        self._count = index

    def _decode_item(self, stream: _Stream, decoder: json.JSONDecoder, keep: int | None) -> Any:
        """The next item; the buffer grows geometrically (linear time for a huge item), and with ``keep`` an
        item longer than LAZY_BYTES is parsed lazily instead of decoded whole."""
        while True:
            try:
                value, stream.pos = decoder.raw_decode(stream.text, stream.pos)
                return value
            except json.JSONDecodeError as exc:
                pending = len(stream.text) - stream.pos
                if keep is not None and pending > LAZY_BYTES:
                    return self._lazy_item(stream, keep)
                if not stream.more(max(CHUNK, pending)):
                    raise PreviewError(f"{self.path}:{stream.where(exc.pos)}: invalid JSON: {exc.msg}") from None
            except RecursionError:
                raise PreviewError(f"{self.path}:{stream.where(stream.pos)}: {TOO_DEEP}") from None

    def _lazy_item(self, stream: _Stream, keep: int) -> Any:
        parser = LazyJson(stream.text, stream.pos, lambda: stream.handle.read(CHUNK * 4), keep)
        try:
            value = parser.value()
        except ValueError as exc:
            what, pos = exc.args if len(exc.args) == 2 else (str(exc), 0)
            raise PreviewError(f"{self.path}: item at character {pos}: invalid JSON: {what}") from None
        stream.line += stream.text.count("\n", 0, stream.pos)
        stream.text, stream.pos = parser.buf, parser.pos
        return value


class CsvRows(RowSource):
    """CSV with a header row, streamed."""

    def iter_rows(self, start: int = 0, keep: int | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
        with self.path.open("r", encoding="utf-8", errors="replace", newline="") as handle:
            index = 0
            for row in csv.DictReader(handle):
                if index >= start:
                    yield index, dict(row) if keep is None else cut_value(dict(row), keep)
                index += 1
        self._count = index


class ArrowRows(RowSource):
    """Parquet (row groups) or Arrow IPC files (record batches, as ``datasets`` saves them), read lazily."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            self._parquet = pq.ParquetFile(path)
            self._count = self._parquet.metadata.num_rows
        else:
            self._parquet = None

    def _batches(self) -> Iterator[Any]:
        if self._parquet is not None:
            for group in range(self._parquet.num_row_groups):
                yield self._parquet.read_row_group(group)
            return
        import pyarrow as pa

        with pa.memory_map(str(self.path)) as source:
            try:
                reader = pa.ipc.open_stream(source)
            except pa.ArrowInvalid:
                reader = pa.ipc.open_file(source)
                for i in range(reader.num_record_batches):
                    yield reader.get_batch(i)
                return
            yield from reader

    def iter_rows(self, start: int = 0, keep: int | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
        index = 0
        for batch in self._batches():
            if index + batch.num_rows <= start:
                index += batch.num_rows
                continue
            for row in batch.slice(max(0, start - index)).to_pylist():
                yield max(index, start), row if keep is None else cut_value(row, keep)
                index = max(index, start) + 1
            index = max(index, start)
        self._count = index


def open_rows(path: str | Path) -> RowSource:
    """A :class:`RowSource` for ``path`` chosen by its extension (JSON files are sniffed: array or lines)."""
    path = Path(path)
    if not path.is_file():
        raise PreviewError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return LineRows(path, parse=True)
    if suffix == ".json":
        with path.open("rb") as handle:
            first = handle.readline(1 << 20).strip()
        if first.startswith(b"{"):
            try:
                json.loads(first)
            except json.JSONDecodeError:
                raise PreviewError(
                    f"{path}: one JSON object, not rows; a dataset is a JSON array of objects or JSON Lines"
                ) from None
        return JsonArrayRows(path) if first.startswith(b"[") else LineRows(path, parse=True)
    if suffix == ".txt":
        return LineRows(path, parse=False)
    if suffix == ".csv":
        return CsvRows(path)
    if suffix in (".parquet", ".arrow"):
        return ArrowRows(path)
    raise PreviewError(
        f"{path}: cannot preview {suffix or 'extension-less'} files (json, jsonl, csv, parquet, arrow, txt)"
    )
