"""Load the datasets a config names, convert their rows to Examples, mix them and split off a validation set.

The steps and their order are LLaMA-Factory 0.9.5's (``_load_single_dataset``, ``merge_dataset``,
``split_dataset``), done with the same ``datasets`` calls and seeds, so rows come out in the same order:
read -> ``num_samples`` sampling -> ``max_samples`` -> convert -> concat/interleave -> (streaming: shuffle) ->
train/validation split. Rows that cannot be used keep their place through mixing and splitting (LLaMA-Factory
drops them only when tokenizing) and are removed at the end, so the remaining rows keep LLaMA-Factory's order.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from lmf_engine.util.environ import keeps_os_environ

from .errors import BadRow, BadRowsError, DataError
from .readers import read_dataset
from .registry import DatasetSpec, get_dataset_specs, split_names
from .rows import (
    KEPT_REASONS,
    BadRowReport,
    RowConverter,
    check_columns,
    check_spec_for_stage,
    describe_source,
    example_features,
)

if TYPE_CHECKING:
    import numpy as np
    from datasets import Dataset, IterableDataset

    from lmf_engine.config import Config

OnBadRow = Literal["fail", "skip"]
TRAIN_STAGES = ("pt", "sft", "rm", "ppo", "dpo", "kto")
STOPPING = {"interleave_under": "first_exhausted", "interleave_over": "all_exhausted"}
STOPPING["interleave_once"] = "all_exhausted_without_replacement"


@dataclass
class LoadedData:
    """Converted rows (columns of :meth:`Example.to_row`) for training and evaluation, and the skipped rows.

    ``eval`` is a dict of name -> dataset with ``eval_on_each_dataset``.
    """

    train: "Dataset | IterableDataset | None"
    eval: "Dataset | IterableDataset | dict[str, Dataset | IterableDataset] | None"
    bad_rows: BadRowReport
    stage: str


@dataclass
class LoadContext:
    """What loading one config's datasets shares: the stage, the bad-row policy and report, one random state."""

    config: "Config"
    stage: str
    on_bad_row: OnBadRow
    rng: "np.random.RandomState"
    report: BadRowReport

    @property
    def streaming(self) -> bool:
        return self.config.data.streaming

    @property
    def media_dir(self) -> str:
        """Where relative media paths start: ``media_dir``, default ``dataset_dir`` (as in LLaMA-Factory)."""
        return self.config.data.media_dir or self.config.data.dataset_dir


def worker_count(config: "Config") -> int | None:
    """``num_proc`` for ``datasets``: None for one worker, which runs in this process instead of a pool of one."""
    workers = config.data.preprocessing_num_workers
    return workers if workers and workers > 1 else None


def sample_indexes(rows: int, target: int, rng: "np.random.RandomState") -> "np.ndarray":
    """``num_samples`` rows of ``rows``, as LLaMA-Factory draws them."""
    import numpy as np

    indexes = rng.permutation(rows)[:target]  # every row at least once, then draws with replacement
    if target > len(indexes):
        indexes = np.concatenate((indexes, rng.choice(rows, target - len(indexes))), axis=0)
    return indexes


def _collect_bad_rows(converted: "Dataset", spec: DatasetSpec, file: str, origin: Any, ctx: LoadContext) -> None:
    import pyarrow.compute as pc

    errors = converted.with_format("arrow")["_error"]
    bad = pc.indices_nonzero(pc.is_valid(errors)).to_pylist()
    if not bad:
        return
    rows = [
        BadRow(spec.name, file, int(origin[i] if origin is not None else i) + 1, errors[i].as_py())
        for i in bad[:KEPT_REASONS]
    ]
    if ctx.on_bad_row == "fail":
        raise BadRowsError(rows, len(bad))
    ctx.report.add(rows, len(bad))


def _load_one(spec: DatasetSpec, ctx: LoadContext, stage: str) -> "Dataset | IterableDataset":
    """LLaMA-Factory's ``_load_single_dataset``: read, sample, truncate, convert.

    Local data is converted before it becomes a stream (LLaMA-Factory reads it whole too): bad rows are found
    at once, and the stream's shuffle order is LLaMA-Factory's (with ``datasets`` 5, a map between
    ``to_iterable_dataset`` and ``shuffle`` changes the order; with LLaMA-Factory's ``datasets`` 4 it does not).
    """
    data, model, training = ctx.config.data, ctx.config.model, ctx.config.training
    check_spec_for_stage(spec, ctx.stage)
    file = describe_source(spec, data.dataset_dir)
    native_stream = ctx.streaming and spec.load_from != "file"
    raw = read_dataset(
        spec,
        data.dataset_dir,
        streaming=native_stream,
        cache_dir=model.cache_dir,
        token=model.hf_hub_token,
        num_proc=worker_count(ctx.config),
    )
    names = raw.column_names
    if names is None:  # a hub stream without known features
        names = list(next(iter(raw)).keys())
    check_columns(spec, names, file)
    if native_stream:
        fn = RowConverter(spec, stage, file, ctx.media_dir, ctx.on_bad_row == "fail", ctx.report)
        return raw.map(fn, with_indices=True, remove_columns=names, features=example_features())
    if len(raw) == 0:
        raise DataError(f"dataset {spec.name} ({file}) has no rows", dataset=spec.name, file=file)
    origin = None
    if spec.num_samples is not None and not ctx.streaming:
        origin = sample_indexes(len(raw), spec.num_samples, ctx.rng)
        raw = raw.select(origin)
    if data.max_samples is not None:
        count = min(data.max_samples, len(raw))
        raw = raw.select(range(count))
        origin = origin[:count] if origin is not None else None
    converter = RowConverter(spec, stage, file, ctx.media_dir)
    converted = raw.map(
        converter,
        with_indices=True,
        remove_columns=names,
        features=example_features(),
        num_proc=worker_count(ctx.config),
        load_from_cache_file=not data.overwrite_cache,
        desc=f"Converting {spec.name}",
        cache_file_name=_outside_cache_file(raw, converter, file, model.cache_dir),
    )
    _collect_bad_rows(converted, spec, file, origin, ctx)
    if ctx.streaming:  # LLaMA-Factory: one shard per dataloader worker (0 workers would give no rows at all)
        return converted.to_iterable_dataset(num_shards=max(1, training.dataloader_num_workers))
    return converted


def _outside_cache_file(raw: "Dataset", converter: RowConverter, source: str, cache_dir: str | None) -> str | None:
    """A cache file in the ``datasets`` cache when ``raw`` maps the user's own files (a save_to_disk folder):
    ``datasets`` would otherwise write its cache next to them."""
    import os

    folder = os.path.abspath(source)
    if not any(os.path.abspath(f["filename"]).startswith(folder + os.sep) for f in raw.cache_files):
        return None
    import datasets
    from datasets.fingerprint import Hasher

    key = Hasher.hash([raw._fingerprint, converter])
    root = cache_dir or datasets.config.HF_DATASETS_CACHE
    os.makedirs(os.path.join(root, "lmf_converted"), exist_ok=True)
    return os.path.join(root, "lmf_converted", f"{key}.arrow")


def merge_datasets(datasets: list, ctx: LoadContext) -> "Dataset | IterableDataset":
    """LLaMA-Factory's ``merge_dataset``."""
    from datasets import concatenate_datasets, interleave_datasets

    data = ctx.config.data
    if len(datasets) == 1:
        return datasets[0]
    if data.mix_strategy == "concat":
        return concatenate_datasets(datasets)
    if data.mix_strategy not in STOPPING:
        raise DataError(f"unknown mix_strategy {data.mix_strategy!r}")
    probs = [float(p) for p in split_names(data.interleave_probs)] if data.interleave_probs else None
    if probs is not None and len(probs) != len(datasets):
        raise DataError(f"interleave_probs has {len(probs)} values for {len(datasets)} datasets")
    return interleave_datasets(
        datasets, probabilities=probs, seed=ctx.config.training.seed, stopping_strategy=STOPPING[data.mix_strategy]
    )


def _is_good(error: str | None) -> bool:
    return error is None


def _drop_bad(dataset: Any, what: str, ctx: LoadContext) -> Any:
    """Remove the rows marked bad and the ``_error`` column."""
    if ctx.streaming:
        return dataset.filter(_is_good, input_columns=["_error"]).remove_columns(["_error"])
    import pyarrow.compute as pc

    good = pc.is_null(dataset.with_format("arrow")["_error"])
    if pc.all(good).as_py() is False:
        dataset = dataset.select(pc.indices_nonzero(good).to_pylist())
    if len(dataset) == 0:
        detail = f"\n{ctx.report}" if ctx.report.count else ""
        raise DataError(f"no usable rows in the {what} data{detail}")
    return dataset.remove_columns(["_error"])


def _load_group(names: str | None, ctx: LoadContext, stage: str, as_dict: bool = False) -> Any:
    specs = get_dataset_specs(names, ctx.config.data.dataset_dir)
    if not specs:
        return None
    loaded = {spec.name: _load_one(spec, ctx, stage) for spec in specs}
    return loaded if as_dict else merge_datasets(list(loaded.values()), ctx)


def check_data_options(ctx: LoadContext) -> None:
    data = ctx.config.data
    if ctx.stage not in TRAIN_STAGES:
        raise DataError(f"unknown stage {ctx.stage!r}; expected one of {', '.join(TRAIN_STAGES)}")
    if data.eval_dataset and data.val_size > 1e-6:
        raise DataError("give either val_size or eval_dataset, not both")
    if data.streaming and data.max_samples is not None:
        raise DataError("max_samples cannot be used with streaming")
    if data.streaming and 1e-6 < data.val_size < 1:
        raise DataError("with streaming, val_size must be a whole number of rows")
    if data.interleave_probs and data.mix_strategy == "concat":
        raise DataError("interleave_probs needs an interleave_* mix_strategy")


def split_train_eval(train: Any, evals: Any, ctx: LoadContext) -> tuple[Any, Any]:
    """LLaMA-Factory's ``split_dataset``: shuffle streams, then take/skip or ``train_test_split``."""
    data, seed = ctx.config.data, ctx.config.training.seed
    if train is not None:
        if ctx.streaming:
            train = train.shuffle(buffer_size=data.buffer_size, seed=seed)
        if data.val_size > 1e-6:
            if ctx.streaming:
                return train.skip(int(data.val_size)), train.take(int(data.val_size))
            size = int(data.val_size) if data.val_size > 1 else data.val_size
            try:
                parts = train.train_test_split(test_size=size, seed=seed)
            except ValueError as exc:
                raise DataError(f"val_size {data.val_size:g}: {exc}") from None
            return parts["train"], parts["test"]
    if evals is not None and ctx.streaming and not isinstance(evals, dict):
        evals = evals.shuffle(buffer_size=data.buffer_size, seed=seed)
    return train, evals


@keeps_os_environ
def load_data(config: "Config", stage: str | None = None, *, on_bad_row: OnBadRow = "fail") -> LoadedData:
    """Load ``config.data.dataset`` (and ``eval_dataset``) as converted rows, split and mixed as LLaMA-Factory does.

    ``stage`` defaults to ``config.finetuning.stage``. With ``on_bad_row="fail"`` the first dataset with unusable
    rows raises :class:`BadRowsError`; with ``"skip"`` they are left out and counted in ``bad_rows``.
    """
    import numpy as np

    stage = stage or config.finetuning.stage
    ctx = LoadContext(config, stage, on_bad_row, np.random.RandomState(config.training.seed), BadRowReport())
    check_data_options(ctx)
    eval_stage = "predict" if stage == "sft" and config.training.predict_with_generate else stage
    train = _load_group(config.data.dataset, ctx, stage)
    evals = _load_group(config.data.eval_dataset, ctx, eval_stage, as_dict=config.data.eval_on_each_dataset)
    train, evals = split_train_eval(train, evals, ctx)
    if train is not None:
        train = _drop_bad(train, "training", ctx)
    if isinstance(evals, dict):
        evals = {name: _drop_bad(ds, f"evaluation ({name})", ctx) for name, ds in evals.items()}
    elif evals is not None:
        evals = _drop_bad(evals, "evaluation", ctx)
    return LoadedData(train, evals, ctx.report, stage)
