"""Training data without waiting for it: lazy splits when the config allows them, else the eager pipeline.

Lazy mode (the default, ``lazy_preprocessing: false`` turns it off) gives the trainer map-style datasets over the
raw rows (:mod:`.lazy_rows`), planned in the eager path's order (:mod:`.lazy_plan`), and a background process
writes the encoded shards to the cache (:mod:`.background`). Once every shard of a config's data is written, the
next run reads the cache as ordinary ``datasets`` tables, like the eager path's cache. With ``packing`` /
``neat_packing`` rows are packed as they are read (:mod:`.lazy_pack`).

Lazy mode is used where encoding row by row gives the eager path's tokens. It is not used, and the eager path runs,
for: ``pt`` (texts of a 1,000-row batch are joined and cut into blocks), ``kto`` (each row is paired with another
row of its batch for the KL term), ``train_sampling_strategy: group_by_length`` (the sampler needs every row's
length first; a complete cache of unpacked rows has them), ``streaming`` (already reads as it goes),
``tokenized_path`` (saves or loads the whole encoded dataset) and ``do_predict`` (predictions are written for every
row in order). :func:`lazy_blocker` says which applies.
"""

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmf_engine.util.fs import discard_folder

from .background import BackgroundEncoder
from .lazy_plan import SplitPlan, plan_splits
from .lazy_rows import LazyRows, RowEncoder
from .pipeline import (
    PreparedData,
    Report,
    _key,
    cache_root,
    encode_options,
    encoder_stage,
    fingerprint,
    prepare_data,
    template_for,
)
from .processors import processor_kind
from .rows import BadRowReport
from .shards import ShardStore

if TYPE_CHECKING:
    from lmf_engine.config import Config

log = logging.getLogger(__name__)

SHARD_ROWS = 4096
"""Positions per cache shard: a crash loses at most this many rows' encoding."""
LAZY_STAGES = ("sft", "rm", "dpo", "ppo")


@dataclass
class LazyData:
    """The lazy splits of a run, for the background encoder and the progress events."""

    splits: list[LazyRows]
    folder: Any
    background: BackgroundEncoder | None = None
    total: int = field(init=False)

    def __post_init__(self) -> None:
        self.total = sum(len(split) for split in self.splits)

    def start_background(self) -> BackgroundEncoder:
        """Start writing the cache shards in a background process (call once, in the main process)."""
        fail = any(split.fail for split in self.splits)
        self.background = BackgroundEncoder(self.splits, self.total, fail).start()
        return self.background


def lazy_blocker(config: "Config", stage: str) -> str | None:
    """Why ``config`` cannot train on lazy data (the setting that forces the eager path), or None when it can.

    Length-grouped sampling is left out: it can use a complete cache (see :func:`prepare_training_data`).
    """
    data, training = config.data, config.training
    if not data.lazy_preprocessing:
        return "lazy_preprocessing: false"
    if stage == "pt":
        return "stage pt: the texts of each batch of rows are joined and cut into blocks"
    if stage not in LAZY_STAGES:
        return f"stage {stage}: each row is paired with another row of its batch"
    if data.streaming:
        return "streaming: rows are already read as training goes"
    if data.tokenized_path:
        return "tokenized_path: the whole encoded dataset is saved or loaded"
    if training.do_predict:
        return "do_predict: predictions are written for every row"
    if not training.do_train:
        return "do_train: false"
    if _is_multimodal(data.template):
        return f"template {data.template}: multimodal rows are encoded ahead of training"
    return None


def _is_multimodal(name: str | None) -> bool:
    from .templates import TemplateError, get_template

    try:
        return name is not None and get_template(name).multimodal is not None
    except TemplateError:
        return False


GROUP_BY_LENGTH = (
    "train_sampling_strategy: group_by_length: the sampler needs every row's length first (a complete cache has them)"
)


def _store(folder: Path, name: str, plan: SplitPlan, overwrite: bool) -> ShardStore:
    """The split's shard store; ``overwrite_cache`` discards the old one, in rank 0 alone (other ranks of the run
    start after it, or beside it under Ray, and must not discard what it has begun to write)."""
    if overwrite and int(os.environ.get("RANK", "0")) == 0:
        discard_folder(folder / name)
    return ShardStore(folder / name, len(plan), SHARD_ROWS)


def prepare_training_data(
    config: "Config", *, tokenizer: Any, stage: str, do_generate: bool = False, report: Report | None = None
) -> tuple[PreparedData, str | None]:
    """Data for a training run: lazy when the config allows it (or read from a complete lazy cache), else eager.

    Returns the prepared data and, when the eager path ran, the reason lazy mode was not used. ``report`` is the
    eager path's (see :func:`~.pipeline.prepare_data`).
    """

    def eager(reason: str) -> tuple[PreparedData, str]:
        return prepare_data(config, tokenizer=tokenizer, stage=stage, do_generate=do_generate, report=report), reason

    blocker = lazy_blocker(config, stage)
    if blocker is not None:
        return eager(blocker)
    template = template_for(config, tokenizer)
    enc_stage = encoder_stage(stage)
    folder = cache_root() / "shards" / _key({**fingerprint(config, enc_stage, template, do_generate), "lazy": 1})
    plan = plan_splits(config, stage)
    options = encode_options(config, template)
    packed = processor_kind(enc_stage, options) == "packed_supervised"
    if packed:  # rows are encoded alone, with the packing's cutoff, and packed as they are read
        options = replace(options, cutoff_len=options.effective_cutoff, packing=False, neat_packing=False)

    def lazy(name: str, split: SplitPlan, generate: bool) -> LazyRows:
        encoder = RowEncoder(enc_stage, template, tokenizer, options, generate)
        return LazyRows(split, encoder, _store(folder, name, split, config.data.overwrite_cache), fail)

    fail = config.data.on_bad_row == "fail"
    train = lazy("train", plan.train, False) if plan.train is not None else None
    evals = _each(plan.eval, lambda name, split: lazy(f"eval-{name}" if name else "eval", split, do_generate))
    splits = [s for s in (train, *_values(evals)) if s is not None]
    if not packed and all(split.store.complete() for split in splits):
        report = BadRowReport()
        for split in splits:
            report.merge(split.bad_rows())
        train_ds = train.store.dataset() if train is not None else None
        evals_ds = _each(evals, lambda _, split: split.store.dataset())
        return PreparedData(train_ds, evals_ds, template, tokenizer, enc_stage, report, folder, from_cache=True), None
    if config.training.train_sampling_strategy == "group_by_length":
        return eager(GROUP_BY_LENGTH)
    if packed:
        from .lazy_pack import PackedLazyRows

        data, training = config.data, config.training
        seed = training.data_seed if training.data_seed is not None else training.seed

        def pack(split: LazyRows, shuffle: bool) -> PackedLazyRows:
            buffer = data.preprocessing_batch_size
            return PackedLazyRows(
                split, options.cutoff_len, tokenizer.pad_token_id, data.neat_packing, buffer, seed, shuffle
            )

        shuffle = not config.get("disable_shuffling")
        prepared = PreparedData(
            pack(train, shuffle) if train is not None else None, _each(evals, lambda _, split: pack(split, False)),
            template, tokenizer, enc_stage, BadRowReport(), folder,
        )  # fmt: skip
    else:
        prepared = PreparedData(train, evals, template, tokenizer, enc_stage, BadRowReport(), folder)
    prepared.lazy = LazyData(splits, folder)
    return prepared, None


def _each(splits: Any, fn: Callable[[str | None, Any], Any]) -> Any:
    """``fn(name, split)`` over the evaluation split(s): None, one split (name None) or a dict by name."""
    if splits is None:
        return None
    if isinstance(splits, dict):
        return {name: fn(name, split) for name, split in splits.items()}
    return fn(None, splits)


def _values(splits: Any) -> list[Any]:
    return [] if splits is None else list(splits.values()) if isinstance(splits, dict) else [splits]
