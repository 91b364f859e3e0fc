"""The encode runner gives ``Dataset.map``'s rows (batches and shards included), one thread per worker."""

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from lmf_engine.config import load_config
from lmf_engine.data.loading import load_data
from lmf_engine.data.pipeline import _probe_features, encode_options, prepare_data, template_for
from lmf_engine.data.processors import make_preprocess_fn
from lmf_engine.data.processors.runner import (
    PARALLELISM_ENV,
    can_fork,
    encode_dataset,
    plan_chunks,
    shard_bounds,
)
from lmf_engine.model.tokenizer import load_tokenizer
from lmf_engine.util.environ import keeps_os_environ

needs_fork = pytest.mark.skipif(not can_fork(), reason="worker processes start by fork on Linux only")


def loaded_sft(*overrides: str) -> tuple[Any, Callable[[Mapping[str, Sequence[Any]]], Any]]:
    """The demo sft training rows and their encoder."""
    config = load_config("configs/sft_lora.yaml", ["val_size=0", "eval_strategy=no", *overrides])
    tokenizer = load_tokenizer(config)
    fn = make_preprocess_fn("sft", template_for(config, tokenizer), tokenizer, encode_options(config))
    return load_data(config).train, fn


def mapped(dataset: Any, fn: Any, batch_size: int, workers: int | None) -> dict[str, list[Any]]:
    columns = dataset.column_names
    mapped_rows = keeps_os_environ(dataset.map)
    return mapped_rows(fn, batched=True, batch_size=batch_size, num_proc=workers, remove_columns=columns).to_dict()


def test_chunks_are_maps_shards_cut_into_its_batches() -> None:
    assert shard_bounds(10, 3) == [(0, 4), (4, 7), (7, 10)]
    tasks = plan_chunks(10, 3, 3)
    batches = [batch for task in tasks for batch in task]
    assert batches == [(0, 3), (3, 4), (4, 7), (7, 10)]
    assert plan_chunks(7, 1, 2) == [[(0, 2)], [(2, 4)], [(4, 6)], [(6, 7)]]  # a task is also what a resume skips
    assert [len(task) for task in plan_chunks(1000, 1, 10)] == [7] * 14 + [2]


@pytest.mark.parametrize("workers", [1, pytest.param(2, marks=needs_fork), pytest.param(3, marks=needs_fork)])
def test_packed_rows_equal_maps_for_the_same_workers(workspace: Path, workers: int) -> None:
    dataset, fn = loaded_sft("packing=true", "cutoff_len=512")
    features = _probe_features(dataset, fn)
    ours = encode_dataset(dataset, fn, features, workers=workers, batch_size=16)
    assert ours.features == features
    assert ours.to_dict() == mapped(dataset, fn, 16, workers if workers > 1 else None)


@needs_fork
def test_workers_beyond_the_rows_and_tokenizer_threads_off_in_forked_workers(workspace: Path) -> None:
    dataset, fn = loaded_sft()
    small = dataset.select(range(3))

    def single_threaded(batch: Mapping[str, Sequence[Any]]) -> Any:
        if os.environ.get(PARALLELISM_ENV) != "false":
            raise RuntimeError("the tokenizer's thread pool is on")
        return fn(batch)

    before = os.environ.get(PARALLELISM_ENV)
    features = _probe_features(small, fn)
    ours = encode_dataset(small, single_threaded, features, workers=8, batch_size=1)
    assert ours.to_dict() == mapped(small, fn, 1, None)
    assert os.environ.get(PARALLELISM_ENV) == before
    with pytest.raises(RuntimeError, match="thread pool is on"):
        encode_dataset(small, single_threaded, features, workers=1)


@needs_fork
def test_a_failing_batch_raises_and_leaves_no_files(workspace: Path) -> None:
    dataset, fn = loaded_sft()
    last = dataset[len(dataset) - 1]["_prompt"]

    def fails_at_the_end(batch: Mapping[str, Sequence[Any]]) -> Any:
        if last in batch["_prompt"]:
            raise ValueError("bad batch")
        return fn(batch)

    folder = Path(dataset.cache_files[0]["filename"]).parent
    before = set(folder.rglob("*.arrow"))
    with pytest.raises(ValueError, match="bad batch"):
        encode_dataset(dataset, fails_at_the_end, _probe_features(dataset, fn), workers=2, batch_size=4)
    assert set(folder.rglob("*.arrow")) == before


@needs_fork
def test_pipeline_rows_do_not_depend_on_workers_and_survive_the_cache(workspace: Path) -> None:
    def prepare(*overrides: str) -> Any:
        return prepare_data(load_config("configs/sft_lora.yaml", list(overrides)))

    single = prepare("preprocessing_num_workers=1")
    environ = os.environ
    double = prepare("preprocessing_num_workers=2")
    assert os.environ is environ  # datasets' pooled map rebinds it; rich and others hold the original
    cached = prepare("overwrite_cache=false")
    assert not single.from_cache and not double.from_cache and cached.from_cache
    for other in (double, cached):
        assert other.train.to_dict() == single.train.to_dict()
        assert other.eval.to_dict() == single.eval.to_dict()
