"""Token-level views of a config's data: full example lengths (``data stats``) and encoded rows as JSON Lines
(``data encode``). Both need the config's tokenizer, so ``data list`` and ``data preview`` never load this module."""

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmf_engine.data.errors import DataError
from lmf_engine.data.processors import EncodeOptions, Stage, encode, processor_kind
from lmf_engine.data.templates import HF_TEMPLATE, ElementEncoder, Template, get_template, template_names
from lmf_engine.util.fs import atomic_writer
from lmf_engine.util.suggest import did_you_mean

if TYPE_CHECKING:
    from lmf_engine.config import Config

BATCH = 1000
NO_CUTOFF = 1 << 30
"""A cutoff no example reaches: lengths are measured before truncation."""

Progress = Callable[[int], None]


def check_template(config: "Config") -> None:
    """A :class:`DataError` for a template name that does not exist (with a did-you-mean) or that cannot train
    on the prompt when ``train_on_prompt`` is set."""
    name = config.data.template
    if name is None or name == HF_TEMPLATE:
        return
    names = template_names()
    if name not in names:
        close = did_you_mean(name, names)
        hint = (
            f"; did you mean {' or '.join(close)}?"
            if close
            else f" (`{HF_TEMPLATE}` uses the tokenizer's own chat template)"
        )
        raise DataError(f"template: unknown template {name!r}{hint}")
    if config.data.train_on_prompt and get_template(name).efficient_eos:
        raise DataError(f"template {name!r} does not support train_on_prompt; set train_on_prompt: false")


def batches(dataset: Any, size: int = BATCH) -> Iterator[dict[str, list[Any]]]:
    """Column batches of a map-style or streaming dataset, in order."""
    yield from dataset.iter(batch_size=size)


def example_lengths(
    dataset: Any, stage: Stage, template: Template, tokenizer: Any, options: EncodeOptions
) -> Iterator[int]:
    """Tokens of each converted example as ``stage`` encodes it, before any truncation or packing.

    sft, kto and pt: the encoded ids; rm/dpo: prompt plus the longer of chosen and rejected; ppo: prompt plus
    response. These are the lengths ``cutoff_len`` applies to.
    """
    full = replace(options, cutoff_len=NO_CUTOFF, packing=False, neat_packing=False)
    kind = processor_kind(stage, full)
    encoder = ElementEncoder(tokenizer)
    for batch in batches(dataset):
        out = encode(stage, template, tokenizer, batch, full, encoder=encoder)
        if kind == "pairwise":
            pairs = zip(out["chosen_input_ids"], out["rejected_input_ids"], strict=True)
            yield from (max(len(chosen), len(rejected)) for chosen, rejected in pairs)
        elif kind == "unsupervised":
            yield from (len(i) + len(labels) for i, labels in zip(out["input_ids"], out["labels"], strict=True))
        else:
            yield from (len(ids) for ids in out["input_ids"])


def row_tokens(row: dict[str, Any]) -> int:
    """Tokens of an encoded row: the sum over its ``*input_ids`` columns."""
    return sum(len(value) for key, value in row.items() if key.endswith("input_ids"))


@dataclass
class ExportSummary:
    """What ``data encode`` wrote."""

    out: str
    rows: int = 0
    tokens: int = 0
    columns: list[str] = field(default_factory=list)
    per_dataset: dict[str, int] = field(default_factory=dict)


def _rows(dataset: Any) -> Iterator[dict[str, Any]]:
    for batch in batches(dataset):
        keys = list(batch)
        for values in zip(*(batch[key] for key in keys), strict=True):
            yield dict(zip(keys, values, strict=True))


def write_jsonl(parts: Iterable[tuple[str | None, Any]], out: Path, progress: Progress | None = None) -> ExportSummary:
    """Write every row of each ``(name, dataset)`` part as one JSON object per line, atomically.

    Rows of a named part (one of several evaluation datasets) carry an ``eval_dataset`` field. The file is written
    next to ``out`` and renamed over it only when complete, so a failure leaves ``out`` as it was.
    """
    out = Path(out)
    if out.is_dir():
        raise DataError(f"--out {out} is a folder; give a file name such as {out / 'encoded.jsonl'}")
    summary = ExportSummary(str(out))
    with atomic_writer(out) as handle:
        for name, dataset in parts:
            for row in _rows(dataset):
                if not summary.columns:
                    summary.columns = list(row)
                summary.rows += 1
                summary.tokens += row_tokens(row)
                if name is not None:
                    row = {**row, "eval_dataset": name}
                    summary.per_dataset[name] = summary.per_dataset.get(name, 0) + 1
                handle.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
                if progress is not None and summary.rows % BATCH == 0:
                    progress(summary.rows)
    if progress is not None:
        progress(summary.rows)
    return summary
