"""The datasets of a dataset_dir, as ``lmf-engine data list`` and the TUI's Datasets screen both show them.

One entry per name of dataset_info.json: its formatting, its kind, where its rows come from, the local files the
pipeline reads (in the order it reads them) and their size on disk, or the problem that makes the entry unusable.
Listing reads only the registry and file metadata, never a data file, so it is instant for any dataset size.

Kinds use LLaMA-Factory's names for the datasets of its stages (data/README.md): ``sft`` (supervised fine-tuning),
``preference`` (``ranking: true``, for rm/dpo/orpo/simpo), ``kto`` (a ``kto_tag`` column) and ``pretrain``
(pre-training text: alpaca without a response column). :data:`KIND_STAGE` gives the stage each kind is checked with.

A ``save_to_disk`` folder gives its Arrow files; for a ``DatasetDict`` only those of the entry's ``split``
(``train`` unless the entry says otherwise), since that is the one split the pipeline loads — the other splits are
never read for training, so they are neither listed, nor previewed, nor counted. Its size is that split's folder.
"""

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import DataError
from .readers import resolve_local
from .registry import DatasetInfo, DatasetSpec, read_dataset_info
from .rows import check_spec_for_stage, describe_source

Kind = Literal["sft", "preference", "kto", "pretrain"]
KIND_STAGE: dict[str, str] = {"sft": "sft", "preference": "rm", "kto": "kto", "pretrain": "pt"}
"""The stage whose checks (and encoder) a dataset of each kind gets."""


def dataset_kind(spec: DatasetSpec) -> Kind:
    """What a dataset is for: ranking pairs, kto feedback, pre-training text (alpaca without a response) or sft."""
    if spec.ranking:
        return "preference"
    if spec.is_kto:
        return "kto"
    if spec.formatting == "alpaca" and not spec.columns.response:
        return "pretrain"
    return "sft"


def _saved_folder(spec: DatasetSpec, folder: Path) -> Path:
    """The folder of the split the pipeline reads: ``folder`` itself for a Dataset, ``folder/split`` for a dict."""
    marker = folder / "dataset_dict.json"
    if not marker.exists():
        return folder
    try:
        splits = [str(s) for s in json.loads(marker.read_text(encoding="utf-8"))["splits"]]
    except (ValueError, KeyError, TypeError):
        splits = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if spec.split not in splits or not (folder / spec.split).is_dir():
        raise DataError(
            f"dataset {spec.name}: {folder} has no split {spec.split!r} (it has {', '.join(splits) or 'none'})",
            dataset=spec.name,
            file=str(folder),
        )
    return folder / spec.split


def dataset_files(spec: DatasetSpec, dataset_dir: str | Path) -> list[Path]:
    """The data files of a local dataset, in the order the pipeline reads them.

    A ``save_to_disk`` folder gives its Arrow files (of ``spec.split`` for a DatasetDict). Hub, script and cloud
    datasets have no local files: :class:`DataError`.
    """
    if spec.load_from != "file":
        raise DataError(
            f"dataset {spec.name} is not a local file ({spec.load_from}: {spec.path}); only local data can be shown",
            dataset=spec.name,
        )
    source = resolve_local(spec, str(dataset_dir))
    if source.kind == "files":
        return [Path(f) for f in source.files]
    folder = _saved_folder(spec, Path(source.path))
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


def _disk_size(files: list[Path]) -> int:
    """Bytes of the files, or of the whole split folder for a ``save_to_disk`` dataset (metadata included)."""
    folders = {f.parent for f in files if f.suffix == ".arrow" and (f.parent / "state.json").exists()}
    if folders:
        return sum(p.stat().st_size for folder in folders for p in folder.rglob("*") if p.is_file())
    return sum(os.stat(f).st_size for f in files)


@dataclass
class DatasetEntry:
    """One entry of dataset_info.json; fields that cannot be known are None (``problem`` says why)."""

    name: str
    spec: DatasetSpec | None = None
    formatting: str | None = None
    kind: Kind | None = None
    source: str | None = None
    """Where rows come from: the local path as given (dataset_dir/file_name), or ``hub:<repo>``."""
    files: list[Path] = field(default_factory=list)
    """The local files read, in order; empty for hub, script and cloud datasets."""
    size: int | None = None
    problem: str | None = None

    @property
    def stage(self) -> str:
        """The stage this entry's rows are checked and encoded with (sft for an unusable entry)."""
        return KIND_STAGE.get(self.kind or "sft", "sft")

    @property
    def local(self) -> bool:
        return bool(self.files) and self.problem is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields (no spec)."""
        return {
            "name": self.name,
            "formatting": self.formatting,
            "kind": self.kind,
            "source": self.source,
            "files": [str(f) for f in self.files],
            "size": self.size,
            "problem": self.problem,
        }


def describe_dataset(name: str, info: DatasetInfo, dataset_dir: str | Path) -> DatasetEntry:
    """One entry with its kind, files and size, or the problem of its spec, its stage or its files."""
    entry = DatasetEntry(name)
    try:
        spec = entry.spec = info.spec(name)
        entry.formatting, entry.kind = spec.formatting, dataset_kind(spec)
        entry.source = describe_source(spec, str(dataset_dir))
        if spec.load_from == "file":
            entry.files = dataset_files(spec, dataset_dir)
            entry.size = _disk_size(entry.files)
        check_spec_for_stage(spec, KIND_STAGE[entry.kind])
    except (DataError, OSError) as exc:
        entry.problem = str(exc)
    return entry


def list_datasets(dataset_dir: str | Path, info: DatasetInfo | None = None) -> list[DatasetEntry]:
    """Every entry of ``dataset_dir``/dataset_info.json (or of ``info`` already read from it), in registry order.

    A missing or malformed dataset_info.json raises :class:`DataError`; a bad entry carries its ``problem``.
    """
    info = info if info is not None else read_dataset_info(str(dataset_dir))
    return [describe_dataset(name, info, dataset_dir) for name in info.names()]
