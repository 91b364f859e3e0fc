"""The datasets of a dataset_dir as ``lmf-engine data list`` and ``data preview`` show them, without torch.

Files are opened with :func:`lmf_engine.data.preview.open_rows`, which pages lazily: listing and previewing never
read a whole file (except counting rows of text formats, on request). Rows are numbered from 1 across all files
of a dataset, as the pipeline numbers them in its messages.
"""

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from lmf_engine.data.errors import DataError
from lmf_engine.data.example import Example
from lmf_engine.data.preview import PreviewError, RowSource, open_rows
from lmf_engine.data.readers import resolve_local
from lmf_engine.data.registry import DatasetInfo, DatasetSpec, read_dataset_info
from lmf_engine.data.rows import RowConverter, check_columns, check_spec_for_stage, describe_source
from lmf_engine.util.suggest import did_you_mean

Kind = Literal["sft", "preference", "kto", "pretrain"]
KIND_STAGE: dict[str, str] = {"sft": "sft", "preference": "rm", "kto": "kto", "pretrain": "pt"}
"""The stage whose checks a dataset's rows get in ``--canonical``."""


def dataset_kind(spec: DatasetSpec) -> Kind:
    """What a dataset is for: ranking pairs, kto feedback, pre-training text (alpaca without a response) or sft."""
    if spec.ranking:
        return "preference"
    if spec.is_kto:
        return "kto"
    if spec.formatting == "alpaca" and spec.columns.response is None:
        return "pretrain"
    return "sft"


def dataset_files(spec: DatasetSpec, dataset_dir: str) -> list[Path]:
    """The data files of a local dataset, in the order the pipeline reads them.

    A ``save_to_disk`` folder gives its Arrow files (of ``spec.split`` for a DatasetDict). Hub, script and cloud
    datasets have no local files: :class:`DataError`.
    """
    if spec.load_from != "file":
        raise DataError(
            f"dataset {spec.name} is not a local file ({spec.load_from}: {spec.path}); only local data can be shown",
            dataset=spec.name,
        )
    source = resolve_local(spec, dataset_dir)
    if source.kind == "files":
        return [Path(f) for f in source.files]
    folder = Path(source.path)
    if (folder / "dataset_dict.json").exists():
        folder = folder / spec.split
    state = folder / "state.json"
    if state.exists():
        try:
            names = [item["filename"] for item in json.loads(state.read_text(encoding="utf-8"))["_data_files"]]
            return [folder / name for name in names]
        except (ValueError, KeyError, TypeError):
            pass
    files = sorted(folder.glob("*.arrow"))
    if not files:
        raise DataError(f"dataset {spec.name}: {folder} has no Arrow files", dataset=spec.name, file=str(folder))
    return files


def disk_size(spec: DatasetSpec, dataset_dir: str) -> int | None:
    """Bytes on disk of a local file or folder (all files under it); None when it is not local or missing."""
    if spec.load_from != "file":
        return None
    path = Path(dataset_dir) / spec.path
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return None


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
class EntryInfo:
    """One line of ``data list``; fields that cannot be known are None."""

    name: str
    formatting: str | None = None
    kind: str | None = None
    source: str | None = None
    size: int | None = None
    rows: int | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def describe_entry(name: str, info: DatasetInfo, dataset_dir: str, count: bool) -> EntryInfo:
    """Formatting, kind, source, size and rows of one entry, or the problem that makes it unusable."""
    entry = EntryInfo(name)
    try:
        spec = info.spec(name)
    except DataError as exc:
        entry.problem = str(exc)
        return entry
    entry.formatting, entry.kind, entry.source = (
        spec.formatting,
        dataset_kind(spec),
        describe_source(spec, dataset_dir),
    )
    entry.size = disk_size(spec, dataset_dir)
    try:
        check_spec_for_stage(spec, KIND_STAGE[entry.kind])
        if spec.load_from != "file":
            return entry
        files = dataset_files(spec, dataset_dir)
        sources = [open_rows(f) for f in files]
        if not sources[0].head(1):
            raise DataError(f"dataset {name} ({files[0]}) has no rows", dataset=name)
        check_columns(spec, sources[0].columns(), str(files[0]))
        counts = [cheap_count(f) for f in files]
        if count and None in counts:
            counts = [c if c is not None else s.count() for c, s in zip(counts, sources, strict=True)]
        entry.rows = sum(counts) if None not in counts else None  # type: ignore[arg-type]
    except (DataError, PreviewError, OSError) as exc:
        entry.problem = str(exc)
    return entry


def list_entries(dataset_dir: str, count: bool = False) -> list[EntryInfo]:
    """Every entry of ``dataset_dir``/dataset_info.json; a missing or malformed file raises :class:`DataError`."""
    info = read_dataset_info(dataset_dir)
    return [describe_entry(name, info, dataset_dir, count) for name in info.names()]


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

    def page(self, start: int, size: int) -> list[PreviewRow]:
        """Up to ``size`` rows from row ``start`` (1-based)."""
        rows: list[PreviewRow] = []
        for offset, path, source in self._offsets():
            first = max(start - 1 - offset, 0)
            if source.known_count is not None and first >= source.known_count:
                continue
            for index, values in source.iter_rows(first):
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

    def search(self, text: str, column: str | None, start: int, size: int) -> list[PreviewRow]:
        """Up to ``size`` rows from row ``start`` (1-based) whose ``column`` (or any) contains ``text``."""
        if column is not None:
            self.check_column(column)
        rows: list[PreviewRow] = []
        for offset, path, source in self._offsets():
            first = max(start - 1 - offset, 0)
            for index, values in source.search(text, column, first):
                rows.append(PreviewRow(offset + index + 1, str(path), values))
                if len(rows) == size:
                    return rows
        return rows


def canonical_row(spec: DatasetSpec, row: PreviewRow) -> dict[str, Any]:
    """The canonical form the converter gives a raw row (system, tools, messages, response, kto_tag),
    or ``error`` with the reason the pipeline would reject it for the dataset's stage."""
    stage = KIND_STAGE[dataset_kind(spec)]
    converted = RowConverter(spec, stage, row.file)(row.values, row.row - 1)
    where = {"row": row.row, "file": row.file}
    if converted["_error"] is not None:
        return {**where, "error": converted["_error"]}
    example = Example.from_row(converted)
    result: dict[str, Any] = {**where, "system": example.system, "tools": example.tools}
    result["messages"] = [{"role": m.role, "content": m.content} for m in example.prompt]
    result["response"] = [{"role": m.role, "content": m.content} for m in example.response]
    if example.kto_tag is not None:
        result["kto_tag"] = example.kto_tag
    return result
