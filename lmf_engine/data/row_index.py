"""Random access to a dataset's raw rows without loading it: row N of a file, as ``datasets`` would give it.

JSON Lines files get a byte offset per row, found by one pass over the file at C speed (newlines counted with
numpy, about a second per GB); a JSON array file gets the offsets of its items from one decoding pass. Row N is then
one seek and one ``json.loads``. Other sources (CSV, Parquet, Arrow, saved ``datasets`` folders, the hub) are read
with ``datasets`` as the eager path reads them, which is columnar and quick; only their conversion and encoding are
left for later. A folder of files is their concatenation, in the eager path's file order.

Rows keep ``datasets``' shape where it matters to the converters: every column of the file is present (None where
a row lacks it), as in an Arrow table.
"""

import json
import os
from collections.abc import Sequence
from typing import Any, Protocol

from .errors import TOO_DEEP, DataError
from .readers import read_dataset, resolve_local
from .registry import DatasetSpec

CHUNK = 1 << 26
COLUMN_ROWS = 1000
"""Rows read to learn a JSON file's columns (``datasets`` reads them all; a column first seen later is still read)."""
BLANK_MAX = 16
"""Lines this short are checked for being blank (longer ones cannot be: a JSON object needs ``{}``)."""


class RawRows(Protocol):
    """Rows of one dataset entry, by position."""

    columns: list[str]

    def __len__(self) -> int: ...

    def row(self, index: int) -> dict[str, Any]: ...


def _line_starts(path: str) -> "Any":
    """Byte offsets of the non-blank lines of ``path`` (an int64 array)."""
    import numpy as np

    starts = [np.zeros(1, dtype=np.int64)]
    done = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            newlines = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 10).astype(np.int64)
            starts.append(newlines + done + 1)
            done += len(chunk)
    offsets = np.concatenate(starts)
    if offsets[-1] >= done:
        offsets = offsets[:-1]
    ends = np.append(offsets[1:], done)
    short = np.flatnonzero(ends - offsets <= BLANK_MAX)
    if len(short):
        blank = []
        with open(path, "rb") as handle:
            for index in short:
                handle.seek(int(offsets[index]))
                if not handle.read(int(ends[index] - offsets[index])).strip():
                    blank.append(index)
        offsets = np.delete(offsets, blank)
    return offsets


def _item_offsets(path: str) -> "Any":
    """Character offsets (into the decoded text) of the items of a JSON array file; the text is not kept."""
    import numpy as np

    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    decoder = json.JSONDecoder()
    offsets: list[int] = []
    pos = text.find("[") + 1
    size = len(text)
    while True:
        while pos < size and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= size or text[pos] == "]":
            break
        offsets.append(pos)
        try:
            _, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: line {exc.lineno}, column {exc.colno}: {exc.msg}", file=path) from None
    return np.asarray(offsets, dtype=np.int64)


class JsonFileRows:
    """Rows of one JSON Lines or JSON array file, read by offset; opened again in each process that reads."""

    def __init__(self, path: str) -> None:
        self.path = path
        with open(path, "rb") as handle:
            head = handle.read(4096).lstrip()
        self.array = head.startswith(b"[")
        self.offsets = _item_offsets(path) if self.array else _line_starts(path)
        self._handle: Any = None
        self._pid = -1
        self.columns = self._columns()

    def __len__(self) -> int:
        return len(self.offsets)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_handle": None, "_pid": -1}

    def _array_text(self) -> str:
        """A JSON array's text, read once per process (``datasets`` reads such a file whole too)."""
        if self._handle is None or self._pid != os.getpid():
            with open(self.path, encoding="utf-8") as handle:
                self._handle = handle.read()
            self._pid = os.getpid()
        return self._handle

    def _file(self) -> Any:
        if self._handle is None or self._pid != os.getpid():
            self._handle = open(self.path, "rb")  # noqa: SIM115 - kept open for the next row
            self._pid = os.getpid()
        return self._handle

    def _parse(self, index: int) -> Any:
        try:
            if self.array:
                return json.JSONDecoder().raw_decode(self._array_text(), int(self.offsets[index]))[0]
            handle = self._file()
            handle.seek(int(self.offsets[index]))
            return json.loads(handle.readline())
        except json.JSONDecodeError as exc:
            raise DataError(f"{self.path}: row {index + 1}: invalid JSON: {exc.msg}", file=self.path) from None
        except RecursionError:
            raise DataError(f"{self.path}: row {index + 1}: {TOO_DEEP}", file=self.path) from None

    def raw(self, index: int) -> dict[str, Any]:
        value = self._parse(index)
        if not isinstance(value, dict):
            raise DataError(
                f"{self.path}: row {index + 1} must be a JSON object, got {type(value).__name__}", file=self.path
            )
        return value

    def _columns(self) -> list[str]:
        names: dict[str, None] = {}
        for index in range(min(COLUMN_ROWS, len(self))):
            names.update(dict.fromkeys(self.raw(index)))
        return list(names)

    def row(self, index: int) -> dict[str, Any]:
        value = self.raw(index)
        return {**dict.fromkeys(self.columns), **value}


class JoinedRows:
    """Several files of one dataset folder, one after the other."""

    def __init__(self, parts: Sequence[JsonFileRows]) -> None:
        import numpy as np

        self.parts = list(parts)
        self.ends = np.cumsum([len(part) for part in self.parts])
        names: dict[str, None] = {}
        for part in self.parts:
            names.update(dict.fromkeys(part.columns))
        self.columns = list(names)

    def __len__(self) -> int:
        return int(self.ends[-1]) if len(self.ends) else 0

    def row(self, index: int) -> dict[str, Any]:
        import numpy as np

        part = int(np.searchsorted(self.ends, index, side="right"))
        start = int(self.ends[part - 1]) if part else 0
        return {**dict.fromkeys(self.columns), **self.parts[part].raw(index - start)}


class TableRows:
    """Rows of a source ``datasets`` reads (memory-mapped Arrow): CSV, Parquet, Arrow, saved folders, the hub."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset
        self.columns = list(dataset.column_names)

    def __len__(self) -> int:
        return len(self.dataset)

    def row(self, index: int) -> dict[str, Any]:
        return self.dataset[int(index)]


def open_raw_rows(spec: DatasetSpec, dataset_dir: str, **read_kwargs: Any) -> RawRows:
    """The rows of a dataset entry: JSON files by offset, anything else through ``datasets``."""
    if spec.load_from == "file":
        source = resolve_local(spec, dataset_dir)
        if source.kind == "files" and source.builder == "json":
            parts = [JsonFileRows(path) for path in source.files]
            return parts[0] if len(parts) == 1 else JoinedRows(parts)
    return TableRows(read_dataset(spec, dataset_dir, streaming=False, **read_kwargs))
