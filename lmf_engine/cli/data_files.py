"""The datasets of a dataset_dir as ``lmf-engine data list`` and ``data preview`` show them, without torch.

The entries themselves (kind, files, size) come from :mod:`lmf_engine.data.listing`, which the TUI uses too.

Files are opened with :func:`lmf_engine.data.preview.open_rows`, which pages lazily: listing and previewing never
read a whole file (except counting rows of text formats, on request). Rows are numbered from 1 across all files
of a dataset, as the pipeline numbers them in its messages.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmf_engine.data.cut_text import cut_value
from lmf_engine.data.errors import DataError
from lmf_engine.data.example import Example
from lmf_engine.data.listing import KIND_STAGE, DatasetEntry, dataset_files, dataset_kind, list_datasets
from lmf_engine.data.preview import PreviewError, RowSource, open_rows
from lmf_engine.data.registry import DatasetSpec
from lmf_engine.data.rows import RowConverter, check_columns
from lmf_engine.util.suggest import did_you_mean


def cheap_count(path: Path) -> int | None:
    """Rows of a Parquet (footer) or Arrow file (memory-mapped batch headers); None for text formats."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return open_rows(path).known_count
    if suffix != ".arrow":
        return None
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:
        try:
            return sum(batch.num_rows for batch in pa.ipc.open_stream(source))
        except pa.ArrowInvalid:
            source.seek(0)
            reader = pa.ipc.open_file(source)
            return sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))


@dataclass
class EntryInfo(DatasetEntry):
    """One line of ``data list``: the shared listing entry, plus the rows when cheap to know (or counted) and the
    problems of the first rows (empty file, unreadable, columns the entry names that the data lacks)."""

    rows: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "rows": self.rows}


def check_entry(entry: EntryInfo, count: bool) -> EntryInfo:
    """Read the first rows of a listed local entry: its columns, and its row count when cheap (or ``count``)."""
    if entry.spec is None or entry.problem is not None or not entry.files:
        return entry
    try:
        files = entry.files
        sources = [open_rows(f) for f in files]
        if not sources[0].head(1, keep=64):
            raise DataError(f"dataset {entry.name} ({files[0]}) has no rows", dataset=entry.name)
        check_columns(entry.spec, sources[0].columns(), str(files[0]))
        counts = [cheap_count(f) for f in files]
        if count and None in counts:
            counts = [c if c is not None else s.count() for c, s in zip(counts, sources, strict=True)]
        entry.rows = sum(counts) if None not in counts else None  # type: ignore[arg-type]
    except (DataError, PreviewError, OSError) as exc:
        entry.problem = str(exc)
    return entry


def list_entries(dataset_dir: str, count: bool = False) -> list[EntryInfo]:
    """Every entry of ``dataset_dir``/dataset_info.json as :func:`~lmf_engine.data.listing.list_datasets` lists
    it, checked further; a missing or malformed file raises :class:`DataError`."""
    return [check_entry(EntryInfo(**vars(entry)), count) for entry in list_datasets(dataset_dir)]


@dataclass
class PreviewRow:
    """A raw row with its 1-based number across the dataset and the file it is in."""

    row: int
    file: str
    values: dict[str, Any]


class DatasetRows:
    """The rows of a local dataset, across all its files, paged lazily."""

    def __init__(self, spec: DatasetSpec, dataset_dir: str) -> None:
        self.spec = spec
        self.files = dataset_files(spec, dataset_dir)
        self.sources: list[RowSource] = [open_rows(f) for f in self.files]

    def _offsets(self) -> Iterator[tuple[int, Path, RowSource]]:
        """(rows before this file, file, source) for each file; counts a file only to go past it."""
        offset = 0
        for path, source in zip(self.files, self.sources, strict=True):
            yield offset, path, source
            offset += source.count() or 0

    def page(self, start: int, size: int, keep: int | None = None) -> list[PreviewRow]:
        """Up to ``size`` rows from row ``start`` (1-based), strings cut to ``keep`` characters if given."""
        rows: list[PreviewRow] = []
        for offset, path, source in self._offsets():
            first = max(start - 1 - offset, 0)
            if source.known_count is not None and first >= source.known_count:
                continue
            for index, values in source.iter_rows(first, keep):
                rows.append(PreviewRow(offset + index + 1, str(path), values))
                if len(rows) == size:
                    return rows
        return rows

    def check_page(self, start: int) -> None:
        """A :class:`DataError` when the dataset has no rows, or none from row ``start`` on."""
        total = sum(source.count() or 0 for source in self.sources)
        if total == 0:
            raise DataError(f"dataset {self.spec.name} ({self.files[0]}) has no rows", dataset=self.spec.name)
        if start > total:
            raise DataError(f"--start {start} is past the end: dataset {self.spec.name} has {total} rows")

    def check_column(self, column: str) -> None:
        """A :class:`DataError` naming the fields there are when ``column`` is not one of them."""
        names = self.sources[0].columns()
        if column not in names:
            close = did_you_mean(column, names)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise DataError(
                f"unknown column {column!r}: {self.files[0]} has {', '.join(names) or 'no fields'}{hint}",
                dataset=self.spec.name,
                file=str(self.files[0]),
            )

    def search(
        self, text: str, column: str | None, start: int, size: int, keep: int | None = None
    ) -> list[PreviewRow]:
        """Up to ``size`` rows from row ``start`` (1-based) whose ``column`` (or any) contains ``text``; matches
        are found in the whole rows, shown with strings cut to ``keep`` characters if given."""
        if column is not None:
            self.check_column(column)
        rows: list[PreviewRow] = []
        for offset, path, source in self._offsets():
            first = max(start - 1 - offset, 0)
            for index, values in source.search(text, column, first):
                shown = values if keep is None else cut_value(values, keep)
                rows.append(PreviewRow(offset + index + 1, str(path), shown))
                if len(rows) == size:
                    return rows
        return rows


def canonical_row(spec: DatasetSpec, row: PreviewRow, media_dir: str) -> dict[str, Any]:
    """The canonical form the converter gives a raw row (system, tools, messages, response, kto_tag, media
    paths), or ``error`` with the reason the pipeline would reject it for the dataset's stage."""
    stage = KIND_STAGE[dataset_kind(spec)]
    converted = RowConverter(spec, stage, row.file, media_dir)(row.values, row.row - 1)
    where = {"row": row.row, "file": row.file}
    if converted["_error"] is not None:
        return {**where, "error": converted["_error"]}
    example = Example.from_row(converted)
    result: dict[str, Any] = {**where, "system": example.system, "tools": example.tools}
    result["messages"] = [{"role": m.role, "content": m.content} for m in example.prompt]
    result["response"] = [{"role": m.role, "content": m.content} for m in example.response]
    if example.kto_tag is not None:
        result["kto_tag"] = example.kto_tag
    for kind in spec.media_columns:
        result[kind] = getattr(example, kind)
    return result
