"""The whole data pipeline of a config: encoding equal to the encoders, and the tokenized cache's keying."""

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from lmf_engine.config import load_config
from lmf_engine.data.errors import BadRowsError, DataError
from lmf_engine.data.loading import load_data
from lmf_engine.data.pipeline import encode_options, prepare_data
from lmf_engine.data.processors import encode


def config(name: str = "sft_lora", *overrides: str):
    return load_config(f"configs/{name}.yaml", ["overwrite_cache=false", *overrides])


def test_sft_rows_equal_the_encoder_on_the_loaded_rows(workspace: Path) -> None:
    prepared = prepare_data(config())
    loaded = load_data(config())
    expected = encode("sft", prepared.template, prepared.tokenizer, loaded.train.to_dict(), encode_options(config()))
    assert prepared.train["input_ids"] == expected["input_ids"]
    assert prepared.train["labels"] == expected["labels"]
    assert len(prepared.eval) == len(loaded.eval)
    assert not prepared.from_cache


def test_second_run_reads_the_cache_and_any_input_change_misses(workspace: Path) -> None:
    first = prepare_data(config())
    again = prepare_data(config())
    assert again.from_cache and again.cache == first.cache
    assert again.train["input_ids"] == first.train["input_ids"]
    assert not prepare_data(config("sft_lora", "cutoff_len=64")).from_cache
    assert not prepare_data(config("sft_lora", "template=llama3")).from_cache
    with (workspace / "data" / "demo_sft.json").open("a", encoding="utf-8") as f:
        f.write("\n")
    assert not prepare_data(config()).from_cache
    assert not prepare_data(config("sft_lora", "overwrite_cache=true")).from_cache
    assert prepare_data(config("sft_lora", "preprocessing_num_workers=2")).from_cache  # workers do not change rows


def test_a_run_waits_for_another_encoding_the_same_data_then_loads_its_cache(
    workspace: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = prepare_data(config())
    assert first.cache is not None
    aside = first.cache.with_name("aside")
    first.cache.rename(aside)  # as if another process were encoding it now
    other = FileLock(str(first.cache.with_name(f".{first.cache.name}.lock")))
    other.acquire()
    result: list[Any] = []
    waiter = threading.Thread(target=lambda: result.append(prepare_data(config())))
    with caplog.at_level(logging.INFO, logger="lmf_engine.data.pipeline"):
        waiter.start()
        deadline = time.monotonic() + 60
        while "Waiting for another process" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
        aside.rename(first.cache)  # the other process saved it, then let go
        other.release()
        waiter.join(timeout=60)
    assert result and result[0].from_cache and result[0].cache == first.cache
    assert "Another process encoded the same data meanwhile" in caplog.text
    assert result[0].train["input_ids"] == first.train["input_ids"]


def test_tokenized_path_saves_then_loads(workspace: Path) -> None:
    target = workspace / "tokenized"
    first = prepare_data(config("sft_lora", f"tokenized_path={target}"))
    assert not first.from_cache and (target / "dataset_dict.json").exists()
    second = prepare_data(config("sft_lora", f"tokenized_path={target}", "cutoff_len=64"))
    assert second.from_cache  # like LLaMA-Factory: other data keys are ignored once it exists
    assert second.train["input_ids"] == first.train["input_ids"]
    with pytest.raises(DataError, match="streaming"):
        prepare_data(
            config(
                "sft_lora",
                f"tokenized_path={workspace / 'other'}",
                "streaming=true",
                "max_steps=5",
                "max_samples=null",
                "val_size=0",
                "eval_strategy=no",
            )
        )


def test_preference_and_kto_columns(workspace: Path) -> None:
    dpo = prepare_data(config("dpo_lora"))
    assert dpo.stage == "rm"
    assert {"chosen_input_ids", "chosen_labels", "rejected_input_ids", "rejected_labels"} <= set(
        dpo.train.column_names
    )
    kto = prepare_data(config("kto_lora"))
    assert {"kl_input_ids", "kl_labels", "kto_tags"} <= set(kto.train.column_names)


def test_bad_rows_fail_or_are_skipped_and_the_count_survives_the_cache(workspace: Path) -> None:
    path = workspace / "data" / "demo_sft.json"
    rows = json.loads(path.read_text(encoding="utf-8"))
    rows[3]["output"] = ["not", "text"]
    path.write_text(json.dumps(rows), encoding="utf-8")
    with pytest.raises(BadRowsError, match="on_bad_row: skip"):
        prepare_data(config())
    skipped = prepare_data(config("sft_lora", "on_bad_row=skip"))
    assert skipped.bad_rows.count == 1
    cached = prepare_data(config("sft_lora", "on_bad_row=skip"))
    assert cached.from_cache and cached.bad_rows.count == 1
    assert cached.bad_rows.first[0].row == 4
