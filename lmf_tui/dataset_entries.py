"""What the Datasets screen shows of a dataset_info.json entry: format, kind, files, size, and row checks."""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmf_engine.data.converters import check_for_stage, convert_row
from lmf_engine.data.errors import DataError, RowError
from lmf_engine.data.example import Example
from lmf_engine.data.readers import resolve_local
from lmf_engine.data.registry import DatasetInfo, DatasetSpec

KIND_STAGE = {"sft": "sft", "preference": "rm", "kto": "kto", "text": "pt"}
"""The encoder each kind of dataset is checked and measured with."""


@dataclass
class Entry:
    """One dataset entry, or the reason it cannot be used (``error``)."""

    name: str
    spec: DatasetSpec | None = None
    files: list[Path] = field(default_factory=list)
    size: int | None = None
    error: str | None = None

    @property
    def format(self) -> str:
        return self.spec.formatting if self.spec else "?"

    @property
    def kind(self) -> str:
        """sft, preference (rm/dpo), kto or text (pt)."""
        if self.spec is None:
            return "?"
        return dataset_kind(self.spec)

    @property
    def stage(self) -> str:
        return KIND_STAGE.get(self.kind, "sft")

    @property
    def where(self) -> str:
        """Where rows come from: the source for hub entries, else the file name."""
        if self.spec is None:
            return ""
        if self.spec.load_from != "file":
            return f"{self.spec.load_from}:{self.spec.path}"
        return self.spec.path


def dataset_kind(spec: DatasetSpec) -> str:
    if spec.ranking:
        return "preference"
    if spec.is_kto:
        return "kto"
    if spec.formatting == "alpaca" and not spec.columns.response:
        return "text"
    return "sft"


def _saved_files(folder: Path) -> list[Path]:
    """The Arrow files of a ``save_to_disk`` folder (the train split first when it has splits)."""
    files = sorted(folder.rglob("*.arrow"))
    return sorted(files, key=lambda p: (p.parent.name != "train", str(p)))


def read_entries(info: DatasetInfo, dataset_dir: Path) -> list[Entry]:
    """Every entry of ``info`` with its files and size; an invalid entry carries its error message."""
    entries = []
    for name in info.names():
        entry = Entry(name)
        try:
            entry.spec = info.spec(name)
            if entry.spec.load_from == "file":
                source = resolve_local(entry.spec, str(dataset_dir))
                paths = [Path(p) for p in source.files] if source.kind == "files" else _saved_files(Path(source.path))
                entry.files = paths
                entry.size = sum(p.stat().st_size for p in paths)
        except (DataError, OSError) as exc:
            entry.error = str(exc)
        entries.append(entry)
    return entries


def check_row(row: dict[str, Any], entry: Entry) -> tuple[Example | None, str | None]:
    """The row's canonical :class:`Example` and why its kind's stage cannot use it (or None)."""
    assert entry.spec is not None
    try:
        example = convert_row(row, entry.spec)
    except RowError as exc:
        return None, str(exc)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return None, f"cannot convert the row: {type(exc).__name__}: {exc}"
    return example, check_for_stage(example, entry.stage)


def human_size(size: int | None) -> str:
    if size is None:
        return "-"
    value, unit = float(size), "B"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000:
            break
        if unit != "TB":
            value /= 1000
    return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"


def cell_text(value: Any, width: int = 40) -> str:
    """One table cell: text as it is, other values as JSON, on one line, cut to ``width`` characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
