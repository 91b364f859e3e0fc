"""What the Datasets screen shows of a dataset entry (listed by :mod:`lmf_engine.data.listing`), and row checks."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmf_engine.data.converters import check_for_stage, convert_row
from lmf_engine.data.errors import RowError
from lmf_engine.data.example import Example
from lmf_engine.data.listing import KIND_STAGE, DatasetEntry, dataset_kind, list_datasets
from lmf_engine.data.registry import DatasetInfo

__all__ = ["KIND_STAGE", "Entry", "cell_text", "check_row", "dataset_kind", "human_size", "read_entries"]


@dataclass
class Entry(DatasetEntry):
    """A listed dataset (:class:`lmf_engine.data.listing.DatasetEntry`) with the names the screens use, and the
    folder its rows' relative media paths start at."""

    media_dir: str = ""

    @property
    def error(self) -> str | None:
        """Why the entry cannot be used, or None."""
        return self.problem

    @property
    def format(self) -> str:
        return self.formatting or "?"

    @property
    def where(self) -> str:
        """Where rows come from: the local path, or ``hub:<repo>``."""
        return self.source or ""


def read_entries(info: DatasetInfo, dataset_dir: Path, media_dir: Path | None = None) -> list[Entry]:
    """Every entry of ``info`` as the engine lists it (the same as ``lmf-engine data list``); media paths start at
    ``media_dir`` (default ``dataset_dir``)."""
    media = str(media_dir or dataset_dir)
    return [Entry(**vars(entry), media_dir=media) for entry in list_datasets(dataset_dir, info)]


def check_row(row: dict[str, Any], entry: Entry) -> tuple[Example | None, str | None]:
    """The row's canonical :class:`Example` and why its kind's stage cannot use it (or None)."""
    assert entry.spec is not None
    try:
        example = convert_row(row, entry.spec, entry.media_dir)
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
