"""Lazy preprocessing: the same rows as the eager path, background shards, bad rows, and resumable eager encodes."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from dataset_support import SHARED_DATA, write_info, write_json

from lmf_engine.config import load_config
from lmf_engine.data import lazy as lazy_module
from lmf_engine.data.errors import BadRowsError, DataError
from lmf_engine.data.lazy import lazy_blocker, prepare_training_data
from lmf_engine.data.lazy_rows import Dropped
from lmf_engine.data.pipeline import cache_root, prepare_data
from lmf_engine.data.row_index import JsonFileRows
from lmf_engine.data.shards import ShardStore
from lmf_engine.model.tokenizer import load_tokenizer

LMF_DATA_ENTRIES = {
    "identity": "sft",
    "alpaca_en_demo": "sft",
    "alpaca_zh_demo": "sft",
    "glaive_toolcall_en_demo": "sft",
    "glaive_toolcall_zh_demo": "sft",
    "dpo_en_demo": "dpo",
    "dpo_zh_demo": "dpo",
}


def lazy_data(config: Any, stage: str | None = None) -> Any:
    stage = stage or config.finetuning.stage
    prepared, reason = prepare_training_data(config, tokenizer=load_tokenizer(config), stage=stage)
    assert reason is None, reason
    assert prepared.lazy is not None
    return prepared


def rows_of(dataset: Any) -> list[dict[str, Any]]:
    """Every row a trainer can get, in position order (lazy: without the dropped positions)."""
    rows = [dataset[i] for i in range(len(dataset))]
    return [row for row in rows if not isinstance(row, Dropped)]


def eager_rows(config: Any, stage: str | None = None) -> tuple[Any, Any]:
    prepared = prepare_data(config, stage=stage, use_cache=False)
    return prepared.train, prepared.eval


def alpaca_file(path: Path, count: int, bad: set[int] = frozenset(), seed: int = 0) -> Path:
    """``count`` alpaca rows of varied length (row numbers in ``bad`` have no output: unusable for sft)."""
    import random

    rng = random.Random(seed)
    words = ["model", "token", "train", "data", "loss", "step", "batch", "epoch", "layer", "head"]
    rows = []
    for i in range(count):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(3, 40)))
        rows.append({"instruction": f"{i}: {text}", "input": "", "output": None if i in bad else text[::-1]})
    return write_json(path, rows, lines=path.suffix == ".jsonl")


@pytest.mark.parametrize("name", ["sft_lora", "rm_lora", "dpo_lora", "ppo_lora"])
def test_lazy_rows_equal_the_eager_rows_on_the_demo_configs(workspace: Path, name: str) -> None:
    config = load_config(f"configs/{name}.yaml", ["overwrite_cache=false"])
    prepared = lazy_data(config)
    train, evals = eager_rows(config)
    assert rows_of(prepared.train) == [train[i] for i in range(len(train))]
    if evals is not None:
        assert rows_of(prepared.eval) == [evals[i] for i in range(len(evals))]


@pytest.mark.skipif(not (SHARED_DATA / "dataset_info.json").exists(), reason="needs ../shared/lmf-data")
@pytest.mark.parametrize(("entry", "stage"), LMF_DATA_ENTRIES.items())
def test_lazy_rows_equal_the_eager_rows_on_llama_factory_data(
    entry: str, stage: str, tiny_model_dir: Path, make_config: Any
) -> None:
    config = make_config(
        SHARED_DATA,
        model_name_or_path=str(tiny_model_dir),
        dataset=entry,
        stage=stage,
        template="qwen",
        do_train=True,
        cutoff_len=128,
    )
    prepared = lazy_data(config)
    train, _ = eager_rows(config)
    assert len(train) > 0
    assert rows_of(prepared.train) == [train[i] for i in range(len(train))]


def test_an_epoch_through_the_trainer_gets_the_eager_rows(
    tmp_path: Path, tiny_model_dir: Path, make_config: Any
) -> None:
    """10k rows from two files (one sampled), interleaved, with a validation split and unusable rows skipped: over an
    epoch the trainer's data loader (one worker) yields the eager path's (input_ids, labels), in its order."""
    from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

    from lmf_engine.data.lazy_rows import SkipDropped
    from lmf_engine.train.collators import SFTCollator

    data = tmp_path / "data"
    alpaca_file(data / "a.jsonl", 7000, bad={5, 777, 6999})
    alpaca_file(data / "b.json", 3000, seed=1)
    write_info(data, {"a": {"file_name": "a.jsonl"}, "b": {"file_name": "b.json", "num_samples": 2500}})
    values = {
        "model_name_or_path": str(tiny_model_dir),
        "dataset": "a,b",
        "template": "qwen",
        "cutoff_len": 64,
        "mix_strategy": "interleave_under",
        "interleave_probs": "0.7,0.3",
        "val_size": 0.05,
        "on_bad_row": "skip",
        "do_train": True,
    }
    config = make_config(data, **values)
    prepared = lazy_data(config)
    train, _ = eager_rows(config)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)

    def epoch(dataset: Any, collator: Any) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        args = TrainingArguments(
            str(tmp_path / "out"), per_device_train_batch_size=8, dataloader_num_workers=1, use_cpu=True, seed=3,
            remove_unused_columns=False, report_to="none",
        )  # fmt: skip
        loader = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator).get_train_dataloader()
        rows = []
        for batch in loader:
            for ids, labels, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"], strict=True):
                keep = mask.bool()
                rows.append((tuple(ids[keep].tolist()), tuple(labels[keep].tolist())))
        return rows

    tokenizer = prepared.tokenizer
    lazy = epoch(prepared.train, SkipDropped(SFTCollator(tokenizer, pad_to_multiple_of=None)))
    eager = epoch(train, SFTCollator(tokenizer, pad_to_multiple_of=None))
    assert len(eager) == len(train) and len(lazy) == len(eager)
    assert Counter(lazy) == Counter(eager)
    dropped = sum(isinstance(prepared.train[i], Dropped) for i in range(len(prepared.train)))
    assert dropped >= 1 and len(prepared.train) == len(train) + dropped  # bad rows keep their positions, left out


def test_group_by_length_pt_and_kto_keep_the_eager_path(workspace: Path) -> None:
    base = ["overwrite_cache=false"]
    assert lazy_blocker(load_config("configs/sft_lora.yaml", base), "sft") is None
    assert lazy_blocker(load_config("configs/sft_lora.yaml", [*base, "packing=true"]), "sft") is None
    assert "pt" in lazy_blocker(load_config("configs/pt_lora.yaml", base), "pt")
    assert "kto" in lazy_blocker(load_config("configs/kto_lora.yaml", base), "kto")
    off = load_config("configs/sft_lora.yaml", [*base, "lazy_preprocessing=false"])
    assert lazy_blocker(off, "sft") == "lazy_preprocessing: false"
    grouped = load_config("configs/sft_lora.yaml", [*base, "train_sampling_strategy=group_by_length"])
    prepared, reason = prepare_training_data(grouped, tokenizer=load_tokenizer(grouped), stage="sft")
    assert prepared.lazy is None and reason is not None and "group_by_length" in reason


def wait_for(condition: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_background_shards_make_the_next_run_read_the_cache(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lazy_module, "SHARD_ROWS", 16)
    config = load_config("configs/sft_lora.yaml", ["overwrite_cache=false"])
    prepared = lazy_data(config)
    store = prepared.train.store
    assert store.count > 4 and not store.complete()
    encoder = prepared.lazy.start_background()
    wait_for(lambda: encoder.finished)
    assert encoder.rows_done == prepared.lazy.total and store.complete()
    assert rows_of(prepared.train) == rows_of(prepared.train)  # read from the shards now
    again, reason = prepare_training_data(config, tokenizer=prepared.tokenizer, stage="sft")
    assert reason is None and again.from_cache and again.lazy is None
    train, evals = eager_rows(config)
    assert again.train["input_ids"] == train["input_ids"] and again.eval["labels"] == evals["labels"]


def test_a_killed_background_encoder_leaves_finished_shards_for_the_next_one(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lazy_module, "SHARD_ROWS", 8)
    write = ShardStore.write

    def slow_write(self: ShardStore, *args: Any) -> None:  # so that the kill lands before the last shard
        write(self, *args)
        time.sleep(0.3)

    monkeypatch.setattr(ShardStore, "write", slow_write)  # the forked encoder inherits it
    config = load_config("configs/sft_lora.yaml", ["overwrite_cache=false"])
    prepared = lazy_data(config)
    store = prepared.train.store
    encoder = prepared.lazy.start_background()
    wait_for(lambda: len(store.done_shards()) >= 3)
    os.kill(encoder.process.pid, signal.SIGKILL)
    encoder.process.join()
    done = {shard: (store.folder / f"{shard:05d}.arrow").stat().st_mtime_ns for shard in store.done_shards()}
    assert 3 <= len(done) < store.count
    monkeypatch.setattr(ShardStore, "write", write)
    second = lazy_data(config)
    finisher = second.lazy.start_background()
    wait_for(lambda: finisher.finished)
    assert second.train.store.complete()
    assert {s: (store.folder / f"{s:05d}.arrow").stat().st_mtime_ns for s in done} == done  # not written again
    train, _ = eager_rows(config)
    assert second.train.store.dataset()["input_ids"] == train["input_ids"]


def test_a_bad_row_fails_when_reached_and_when_the_background_finds_it(
    tmp_path: Path, tiny_model_dir: Path, make_config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lazy_module, "SHARD_ROWS", 32)
    data = tmp_path / "data"
    alpaca_file(data / "rows.jsonl", 100, bad={60})
    write_info(data, {"rows": {"file_name": "rows.jsonl"}})
    config = make_config(data, model_name_or_path=str(tiny_model_dir), dataset="rows", template="qwen", do_train=True)
    prepared = lazy_data(config)
    assert not isinstance(prepared.train[59], Dropped)
    with pytest.raises(DataError, match=r"rows\.jsonl.*\n  row 61: "):
        prepared.train[60]
    encoder = prepared.lazy.start_background()
    wait_for(lambda: encoder.finished)
    with pytest.raises(BadRowsError, match="row 61"):
        encoder.check()
    assert encoder.rows_done < 100  # it stopped at the shard holding the bad row


def test_json_rows_by_offset_match_what_datasets_reads(tmp_path: Path) -> None:
    rows = [{"a": 1, "b": "x"}, {"a": 2}, {"a": 3, "b": "z\nq", "c": [1, 2]}]
    lines = tmp_path / "rows.jsonl"
    lines.write_text("\n".join(json.dumps(r) for r in rows[:2]) + "\n\n  \n" + json.dumps(rows[2]), encoding="utf-8")
    array = write_json(tmp_path / "rows.json", rows)
    for path in (lines, array):
        source = JsonFileRows(str(path))
        assert len(source) == 3 and source.columns == ["a", "b", "c"]
        assert source.row(1) == {"a": 2, "b": None, "c": None}
        assert source.row(2)["b"] == "z\nq"


CRASHING_ENCODE = """
import sys
from lmf_engine.config import load_config
from lmf_engine.data.pipeline import prepare_data
config = load_config(values=dict(dataset_dir=sys.argv[1], model_name_or_path=sys.argv[2], dataset="rows",
                                  template="qwen", preprocessing_batch_size=50, cutoff_len=64))
prepare_data(config, report=lambda message: print(message, flush=True))
"""


def test_a_killed_eager_encode_is_resumed_shard_by_shard(tmp_path: Path, tiny_model_dir: Path) -> None:
    data = tmp_path / "data"
    alpaca_file(data / "rows.jsonl", 20000)
    write_info(data, {"rows": {"file_name": "rows.jsonl"}})
    command = [sys.executable, "-c", CRASHING_ENCODE, str(data), str(tiny_model_dir)]
    env = {**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "hf")}
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    chunks = cache_root() / "encoding"
    wait_for(lambda: len(list(chunks.glob("*/chunk-*.done"))) >= 3, timeout=300)
    first.kill()
    first.wait()
    finished = len(list(chunks.glob("*/chunk-*.done")))
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("encoding training data"))
    total = 16
    left = total - finished
    assert line == f"encoding training data: {left} of {total} shards to encode ({finished} done by an earlier run)"
    assert not list(chunks.glob("*/chunk-*"))  # removed once the cache holds the rows
    config = load_config(values=dict(dataset_dir=str(data), model_name_or_path=str(tiny_model_dir), dataset="rows",
                                     template="qwen", preprocessing_batch_size=50, cutoff_len=64))  # fmt: skip
    cached = prepare_data(config)
    assert cached.from_cache
    assert cached.train["input_ids"] == prepare_data(config, use_cache=False).train["input_ids"]


def rows_in_packs(packs: Any, pad_id: int) -> Counter:
    """The (input_ids, labels) rows inside packs: split where position_ids restart, padding left out."""
    rows: Counter = Counter()
    for pack in packs:
        ids, labels, positions = list(pack["input_ids"]), list(pack["labels"]), list(pack["position_ids"])
        starts = [i for i, p in enumerate(positions) if p == 0] + [len(positions)]
        for a, b in pairwise(starts):
            if ids[a:b] != [pad_id] * (b - a):
                rows[tuple(ids[a:b]), tuple(labels[a:b])] += 1
    return rows


@pytest.mark.parametrize("neat", [False, True])
def test_lazy_packs_hold_the_eager_packs_rows(
    tmp_path: Path, tiny_model_dir: Path, make_config: Any, neat: bool
) -> None:
    """Packing as rows arrive: over an epoch (two data-loader workers, buffers of 500 rows) the packs hold the rows
    the eager packs hold, token for token, with as many packs give or take a few; the estimate covers the epoch."""
    data = tmp_path / "data"
    alpaca_file(data / "rows.jsonl", 3000)
    write_info(data, {"rows": {"file_name": "rows.jsonl"}})
    config = make_config(
        data, model_name_or_path=str(tiny_model_dir), dataset="rows", template="qwen", cutoff_len=96, do_train=True,
        packing=True, neat_packing=neat, preprocessing_batch_size=500,
    )  # fmt: skip
    prepared = lazy_data(config)
    eager, _ = eager_rows(config)
    pad = prepared.tokenizer.pad_token_id
    loader = torch_loader(prepared.train, workers=2)
    packs = [dict(zip(batch, values, strict=True)) for batch in loader for values in zip(*batch.values(), strict=True)]
    assert rows_in_packs(packs, pad) == rows_in_packs(eager, pad)
    assert abs(len(packs) - len(eager)) <= 0.02 * len(eager)
    assert len(packs) <= len(prepared.train)  # the epoch ends within the trainer's count: no row is cut off
    persistent = torch_loader(prepared.train, workers=1, persistent=True)
    first = [ids for batch in persistent for ids in batch["input_ids"]]
    prepared.train.set_epoch(1)
    second = [ids for batch in persistent for ids in batch["input_ids"]]
    assert first != second  # a persistent worker sees the next epoch and packs in its order


def torch_loader(dataset: Any, workers: int, persistent: bool = False) -> Any:
    import torch

    def collate(items: list[dict[str, Any]]) -> dict[str, list[Any]]:
        return {key: [item[key] for item in items] for key in ("input_ids", "labels", "position_ids")}

    return torch.utils.data.DataLoader(
        dataset, batch_size=4, num_workers=workers, collate_fn=collate, persistent_workers=persistent
    )
