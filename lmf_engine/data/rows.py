"""Per-dataset checks and the row function ``datasets.map`` runs: raw row -> Example columns + ``_error``."""

import functools
import os
from dataclasses import dataclass, field
from typing import Any

from lmf_engine.util.suggest import did_you_mean

from .converters import check_for_stage, convert_row
from .errors import BadRow, BadRowsError, DataError, RowError
from .example import Example
from .media_paths import MEDIA_KINDS
from .registry import Columns, DatasetSpec

KEPT_REASONS = 5


@functools.cache
def _code_digest() -> str:
    """A digest of the conversion code: part of the map fingerprint, so a changed converter never reuses a cache."""
    import hashlib

    from . import converters

    digest = hashlib.sha256()
    for path in (converters.__file__, __file__):
        with open(path, "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()[:16]


@dataclass
class BadRowReport:
    """Rows left out with ``on_bad_row="skip"``: how many (per dataset) and the first few with their reasons.

    With streaming from the hub the report fills in as rows are read.
    """

    count: int = 0
    first: list[BadRow] = field(default_factory=list)
    per_dataset: dict[str, int] = field(default_factory=dict)

    def add(self, rows: list[BadRow], count: int) -> None:
        """Count ``count`` bad rows of one dataset, of which ``rows`` are the first few."""
        if count:
            self.count += count
            self.per_dataset[rows[0].dataset] = self.per_dataset.get(rows[0].dataset, 0) + count
            self.first.extend(rows[: KEPT_REASONS - len(self.first)])

    def merge(self, other: "BadRowReport") -> None:
        """Add ``other``'s counts and first rows to this report."""
        self.count += other.count
        for name, count in other.per_dataset.items():
            self.per_dataset[name] = self.per_dataset.get(name, 0) + count
        self.first.extend(other.first[: KEPT_REASONS - len(self.first)])

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "BadRowReport":
        """A report from its ``dataclasses.asdict`` form."""
        return cls(raw["count"], [BadRow(**row) for row in raw["first"]], raw["per_dataset"])

    def __str__(self) -> str:
        if not self.count:
            return "no rows skipped"
        lines = [f"skipped {self.count} row(s) that cannot be used:"] + [f"  {row}" for row in self.first]
        return "\n".join(lines)


def example_features() -> Any:
    """The ``datasets`` Features of converted rows (plus ``_error`` while loading)."""
    from datasets import Features, List, Value

    message = [{"role": Value("string"), "content": Value("string")}]
    columns = {"_prompt": message, "_response": message, "_system": Value("string"), "_tools": Value("string")}
    media = {f"_{kind}": List(Value("string")) for kind in MEDIA_KINDS}
    return Features({**columns, "_kto_tag": Value("bool"), **media, "_error": Value("string")})


@dataclass(frozen=True)
class RowConverter:
    """The ``datasets.map`` function: a raw row -> Example columns plus ``_error`` (the reason it is unusable)."""

    spec: DatasetSpec
    stage: str
    file: str
    media_dir: str = ""  # where relative media paths start (the config's media_dir, default dataset_dir)
    fail_now: bool = False  # streaming with on_bad_row="fail": raise at the first bad row
    report: BadRowReport | None = field(default=None, compare=False)  # streaming with "skip"
    code: str = field(default_factory=_code_digest)

    def __call__(self, row: dict[str, Any], index: int) -> dict[str, Any]:
        try:
            example = convert_row(row, self.spec, self.media_dir)
            reason = check_for_stage(example, self.stage)
        except RowError as exc:
            example, reason = Example([]), str(exc)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            example, reason = Example([]), f"cannot convert the row: {type(exc).__name__}: {exc}"
        if reason is not None:
            bad = BadRow(self.spec.name, self.file, index + 1, reason)
            if self.fail_now:
                raise BadRowsError([bad], 1)
            if self.report is not None:
                self.report.add([bad], 1)
        return {**example.to_row(), "_error": reason}


def describe_source(spec: DatasetSpec, dataset_dir: str) -> str:
    """Where a dataset's rows come from, for messages: a path, or ``hub:<repo>``."""
    if spec.load_from == "file":
        return os.path.join(dataset_dir, spec.path)
    return f"{spec.load_from.replace('_hub', '')}:{spec.path}" if spec.load_from != "script" else spec.path


def check_spec_for_stage(spec: DatasetSpec, stage: str) -> None:
    """Dataset-level mismatches between a dataset and the training stage, each a clear :class:`DataError`."""
    name = spec.name
    if stage in ("rm", "dpo") and not spec.ranking:
        raise DataError(
            f"dataset {name} is not a ranking dataset; stage {stage} needs one "
            "(ranking: true with chosen and rejected columns)",
            dataset=name,
        )
    if stage not in ("rm", "dpo") and spec.ranking:
        raise DataError(f"dataset {name} is a ranking dataset; use stage rm or dpo", dataset=name)
    if spec.ranking and not (spec.columns.chosen and spec.columns.rejected):
        raise DataError(f"ranking dataset {name} needs columns chosen and rejected", dataset=name)
    if stage == "kto" and not spec.is_kto:
        raise DataError(f"stage kto needs a kto_tag column; dataset {name} has none", dataset=name)
    if stage == "sft" and spec.is_kto:
        raise DataError(f"dataset {name} is a kto dataset (kto_tag column); use stage kto", dataset=name)
    if spec.is_kto and spec.formatting == "alpaca" and not spec.columns.response:
        raise DataError(f"kto dataset {name} needs a response column", dataset=name)


def check_columns(spec: DatasetSpec, names: list[str], file: str) -> None:
    """Every column the dataset entry names must be a field of the data."""
    for role, column in spec.used_columns().items():
        if column not in names:
            close = did_you_mean(column, names)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            if spec.columns == Columns():
                hint += "; the entry has no columns object, so LLaMA-Factory's default columns apply"
            where = f"{spec.info_file}, entry {spec.name!r}" if spec.info_file else f"dataset {spec.name}"
            raise DataError(
                f"{where}: columns.{role} names field {column!r}, which {file} does not have "
                f"(it has {', '.join(names) or 'no fields'}){hint}",
                dataset=spec.name,
                file=file,
            )
