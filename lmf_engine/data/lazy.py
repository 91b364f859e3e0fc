"""Training data without waiting for it: lazy splits when the config allows them, else the eager pipeline.

Lazy mode (the default, ``lazy_preprocessing: false`` turns it off) gives the trainer map-style datasets over the
raw rows (:mod:`.lazy_rows`), planned in the eager path's order (:mod:`.lazy_plan`), and a background process
writes the encoded shards to the cache (:mod:`.background`). Once every shard of a config's data is written, the
next run reads the cache as ordinary ``datasets`` tables, like the eager path's cache.

Lazy mode is used where encoding row by row gives the eager path's tokens. It is not used, and the eager path runs,
for: ``pt`` (texts of a 1,000-row batch are joined and cut into blocks), ``kto`` (each row is paired with another
row of its batch for the KL term), ``packing`` / ``neat_packing`` (rows are packed per batch),
``train_sampling_strategy: group_by_length`` (the sampler needs every row's length first; a complete cache has
them), ``streaming`` (already reads as it goes), ``tokenized_path`` (saves or loads the whole encoded dataset) and
``do_predict`` (predictions are written for every row in order). :func:`lazy_blocker` says which applies.
"""

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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
    if encode_options(config).packs(stage):
        return "packing: rows are packed together per batch"
    if data.streaming:
        return "streaming: rows are already read as training goes"
    if data.tokenized_path:
        return "tokenized_path: the whole encoded dataset is saved or loaded"
    if training.do_predict:
        return "do_predict: predictions are written for every row"
    if not training.do_train:
        return "do_train: false"
    return None


GROUP_BY_LENGTH = (
    "train_sampling_strategy: group_by_length: the sampler needs every row's length first (a complete cache has them)"
)


def _store(folder: Any, name: str, plan: SplitPlan, overwrite: bool) -> ShardStore:
    import shutil

    if overwrite and (folder / name).exists():
        shutil.rmtree(folder / name)
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
    fail = config.data.on_bad_row == "fail"
    overwrite = config.data.overwrite_cache

    def lazy(name: str, split: SplitPlan | None, generate: bool = False) -> LazyRows | None:
        if split is None:
            return None
        encoder = RowEncoder(enc_stage, template, tokenizer, encode_options(config), generate)
        return LazyRows(split, encoder, _store(folder, name, split, overwrite), fail)

    train = lazy("train", plan.train)
    evals: Any = (
        {name: lazy(f"eval-{name}", split, do_generate) for name, split in plan.eval.items()}
        if isinstance(plan.eval, dict)
        else lazy("eval", plan.eval, do_generate)
    )
    splits = [s for s in (train, *(evals.values() if isinstance(evals, dict) else [evals])) if s is not None]
    if all(split.store is not None and split.store.complete() for split in splits):
        report = BadRowReport()
        for split in splits:
            report.merge(split.bad_rows())
        cached = {id(split): split.store.dataset() for split in splits if split.store is not None}
        train_ds = cached[id(train)] if train is not None else None
        evals_ds = (
            {name: cached[id(split)] for name, split in evals.items()}
            if isinstance(evals, dict)
            else (cached[id(evals)] if evals is not None else None)
        )
        return PreparedData(train_ds, evals_ds, template, tokenizer, enc_stage, report, folder, from_cache=True), None
    if config.training.train_sampling_strategy == "group_by_length":
        return eager(GROUP_BY_LENGTH)
    prepared = PreparedData(train, evals, template, tokenizer, enc_stage, BadRowReport(), folder)
    prepared.lazy = LazyData(splits, folder)
    return prepared, None
