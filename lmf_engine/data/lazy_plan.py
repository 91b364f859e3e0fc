"""Which raw row each position of the training and evaluation splits is, without reading or converting the rows.

The eager path (:mod:`.loading`) reads, samples, converts, mixes and splits whole datasets. Sampling, mixing and
splitting only depend on row counts and seeds, so the same ``datasets`` calls are made here on tables of two
integer columns (dataset number, row number), with the same random state: position N of a split is then the row the
eager path puts at position N before it removes the bad rows. A lazy dataset converts and encodes each row when it
is asked for (:mod:`.lazy_rows`).
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import DataError
from .loading import LoadContext, check_data_options, merge_datasets, sample_indexes, split_train_eval
from .registry import DatasetSpec, get_dataset_specs
from .row_index import RawRows, open_raw_rows
from .rows import BadRowReport, RowConverter, check_columns, check_spec_for_stage, describe_source

if TYPE_CHECKING:
    import numpy as np

    from lmf_engine.config import Config


@dataclass
class Source:
    """One dataset entry: its raw rows and the converter for the stage it feeds."""

    spec: DatasetSpec
    file: str
    rows: RawRows
    converter: RowConverter


@dataclass
class SplitPlan:
    """A split as positions: ``source[i]`` and ``row[i]`` say which raw row position ``i`` is."""

    sources: list[Source]
    source: "np.ndarray"
    row: "np.ndarray"

    def __len__(self) -> int:
        return len(self.row)


@dataclass
class LazyPlan:
    """The training split and the evaluation split(s) (a dict with ``eval_on_each_dataset``)."""

    train: SplitPlan | None
    eval: SplitPlan | dict[str, SplitPlan] | None


def _index_table(number: int, origin: "np.ndarray") -> Any:
    import numpy as np
    from datasets import Dataset

    return Dataset.from_dict({"_src": np.full(len(origin), number, dtype=np.int32), "_row": origin})


def _open(spec: DatasetSpec, ctx: LoadContext, stage: str, sources: list[Source]) -> Any:
    """Open one entry's rows and give its index table (after ``num_samples`` and ``max_samples``)."""
    import numpy as np

    data, model = ctx.config.data, ctx.config.model
    check_spec_for_stage(spec, ctx.stage)
    file = describe_source(spec, data.dataset_dir)
    rows = open_raw_rows(spec, data.dataset_dir, cache_dir=model.cache_dir, token=model.hf_hub_token)
    check_columns(spec, rows.columns, file)
    if len(rows) == 0:
        raise DataError(f"dataset {spec.name} ({file}) has no rows", dataset=spec.name, file=file)
    origin = np.arange(len(rows), dtype=np.int64)
    if spec.num_samples is not None:
        origin = sample_indexes(len(rows), spec.num_samples, ctx.rng).astype(np.int64)
    if data.max_samples is not None:
        origin = origin[: data.max_samples]
    sources.append(Source(spec, file, rows, RowConverter(spec, stage, file, ctx.media_dir)))
    return _index_table(len(sources) - 1, origin)


def _group(names: str | None, ctx: LoadContext, stage: str, sources: list[Source], as_dict: bool = False) -> Any:
    specs = get_dataset_specs(names, ctx.config.data.dataset_dir)
    if not specs:
        return None
    tables = {spec.name: _open(spec, ctx, stage, sources) for spec in specs}
    return tables if as_dict else merge_datasets(list(tables.values()), ctx)


def _as_plan(table: Any, sources: list[Source]) -> SplitPlan:
    columns = table.with_format("numpy")[:]
    return SplitPlan(sources, columns["_src"], columns["_row"])


def plan_splits(config: "Config", stage: str | None = None) -> LazyPlan:
    """The positions of ``config``'s training and evaluation splits, as the eager path orders them."""
    import numpy as np

    stage = stage or config.finetuning.stage
    rng = np.random.RandomState(config.training.seed)
    ctx = LoadContext(config, stage, config.data.on_bad_row, rng, BadRowReport())
    check_data_options(ctx)
    eval_stage = "predict" if stage == "sft" and config.training.predict_with_generate else stage
    sources: list[Source] = []
    train = _group(config.data.dataset, ctx, stage, sources)
    evals = _group(config.data.eval_dataset, ctx, eval_stage, sources, as_dict=config.data.eval_on_each_dataset)
    train, evals = split_train_eval(train, evals, ctx)
    if isinstance(evals, dict):
        return LazyPlan(_as_plan(train, sources) if train is not None else None, {
            name: _as_plan(table, sources) for name, table in evals.items()
        })  # fmt: skip
    return LazyPlan(
        _as_plan(train, sources) if train is not None else None,
        _as_plan(evals, sources) if evals is not None else None,
    )
