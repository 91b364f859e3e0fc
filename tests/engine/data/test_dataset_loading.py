"""Loading a config's datasets: mixing, sampling, validation splits, streaming, stage checks and bad rows."""

from pathlib import Path
from typing import Any

import pytest
from dataset_support import alpaca_rows, prompts, write_info, write_json

from lmf_engine.data.errors import BadRowsError, DataError
from lmf_engine.data.example import Example
from lmf_engine.data.loading import load_data

COLUMNS = ["_prompt", "_response", "_system", "_tools", "_kto_tag", "_images", "_videos", "_audios"]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """a: 10 alpaca rows, b: 6 rows, bad: rows 2 and 4 (1-based) unusable for sft, plus ranking/kto/pt sets."""
    write_json(tmp_path / "a.json", alpaca_rows(10, "a"))
    write_json(tmp_path / "b.jsonl", alpaca_rows(6, "b"), lines=True)
    bad = alpaca_rows(5, "bad")
    bad[1]["output"] = None
    bad[3]["instruction"] = 7
    write_json(tmp_path / "bad.json", bad)
    write_json(tmp_path / "empty.json", [])
    write_json(tmp_path / "rank.json", [{"q": f"q{i}", "c": "good", "r": "bad"} for i in range(4)])
    write_json(tmp_path / "kto.json", [{"q": f"q{i}", "a": "x", "label": i % 2 == 0} for i in range(4)])
    (tmp_path / "docs.txt").write_text("one\ntwo\nthree\n")
    return write_info(
        tmp_path,
        {
            "a": {"file_name": "a.json"},
            "b": {"file_name": "b.jsonl"},
            "bad": {"file_name": "bad.json"},
            "empty": {"file_name": "empty.json"},
            "rank": {
                "file_name": "rank.json",
                "ranking": True,
                "columns": {"prompt": "q", "chosen": "c", "rejected": "r"},
            },
            "kto": {"file_name": "kto.json", "columns": {"prompt": "q", "response": "a", "kto_tag": "label"}},
            "docs": {"file_name": "docs.txt", "columns": {"prompt": "text"}},
            "plain_txt": {"file_name": "docs.txt"},
            "typo": {"file_name": "a.json", "columns": {"prompt": "instruction", "response": "outptu"}},
            "sampled": {"file_name": "b.jsonl", "num_samples": 9},
        },
    )


def load(make_config: Any, data_dir: Path, **values: Any) -> Any:
    on_bad_row = values.pop("on_bad_row", "fail")
    return load_data(make_config(data_dir, **values), on_bad_row=on_bad_row)


def test_single_dataset_rows_become_example_columns(make_config: Any, data_dir: Path) -> None:
    loaded = load(make_config, data_dir, dataset="a")
    assert loaded.train.column_names == COLUMNS and loaded.eval is None and loaded.stage == "sft"
    assert prompts(loaded.train) == [f"a{i}" for i in range(10)]
    first = Example.from_row(loaded.train[0])
    assert first.response[0].content == "a0" and first.kto_tag is None


def test_concat_keeps_dataset_order_and_max_samples_is_per_dataset(make_config: Any, data_dir: Path) -> None:
    loaded = load(make_config, data_dir, dataset="a,b", max_samples=3)
    assert prompts(loaded.train) == ["a0", "a1", "a2", "b0", "b1", "b2"]


@pytest.mark.parametrize(
    ("strategy", "check"),
    [
        ("interleave_under", lambda rows: rows.count("a") == 10 or rows.count("b") == 6),
        ("interleave_over", lambda rows: rows.count("a") >= 10 and rows.count("b") >= 6),
        ("interleave_once", lambda rows: rows.count("a") == 10 and rows.count("b") == 6),
    ],
)
def test_interleave_strategies_are_seeded(make_config: Any, data_dir: Path, strategy: str, check: Any) -> None:
    values = {"dataset": "a,b", "mix_strategy": strategy, "interleave_probs": "0.5,0.5", "seed": 1}
    first = prompts(load(make_config, data_dir, **values).train)
    assert first == prompts(load(make_config, data_dir, **values).train)
    assert check([p[0] for p in first])
    assert first != prompts(load(make_config, data_dir, **{**values, "seed": 2}).train)


def test_num_samples_draws_every_row_then_repeats(make_config: Any, data_dir: Path) -> None:
    rows = prompts(load(make_config, data_dir, dataset="sampled", seed=5).train)
    assert len(rows) == 9 and set(rows) == {f"b{i}" for i in range(6)}
    assert rows == prompts(load(make_config, data_dir, dataset="sampled", seed=5).train)


def test_val_size_fraction_and_count(make_config: Any, data_dir: Path) -> None:
    loaded = load(make_config, data_dir, dataset="a,b", val_size=0.25)
    assert (len(loaded.train), len(loaded.eval)) == (12, 4)
    assert sorted(prompts(loaded.train) + prompts(loaded.eval)) == sorted(
        [f"a{i}" for i in range(10)] + [f"b{i}" for i in range(6)]
    )
    loaded = load(make_config, data_dir, dataset="a", val_size=3)
    assert (len(loaded.train), len(loaded.eval)) == (7, 3)
    assert load_data(make_config(data_dir, dataset="a", val_size=3)).eval[:] == loaded.eval[:]
    with pytest.raises(DataError, match="val_size 30"):
        load(make_config, data_dir, dataset="a", val_size=30)


def test_eval_dataset_and_eval_on_each_dataset(make_config: Any, data_dir: Path) -> None:
    loaded = load(make_config, data_dir, dataset="a", eval_dataset="b")
    assert prompts(loaded.eval) == [f"b{i}" for i in range(6)]
    loaded = load(make_config, data_dir, dataset="a", eval_dataset="a,b", eval_on_each_dataset=True, max_samples=2)
    assert {k: prompts(v) for k, v in loaded.eval.items()} == {"a": ["a0", "a1"], "b": ["b0", "b1"]}


def test_streaming_gives_iterable_rows_and_integer_val_split(make_config: Any, data_dir: Path) -> None:
    from datasets import IterableDataset

    loaded = load(make_config, data_dir, dataset="a,b", streaming=True, val_size=4, max_steps=10)
    assert isinstance(loaded.train, IterableDataset) and isinstance(loaded.eval, IterableDataset)
    train, evals = prompts(loaded.train), prompts(loaded.eval)
    assert (len(train), len(evals)) == (12, 4) and not set(train) & set(evals)
    assert next(iter(loaded.train.take(1))).keys() == set(COLUMNS)


def test_streaming_local_bad_rows_are_found_before_streaming(make_config: Any, data_dir: Path) -> None:
    loaded = load(make_config, data_dir, dataset="bad", streaming=True, max_steps=10, on_bad_row="skip")
    assert sorted(prompts(loaded.train)) == ["bad0", "bad2", "bad4"]
    assert loaded.bad_rows.count == 2 and sorted(r.row for r in loaded.bad_rows.first) == [2, 4]
    with pytest.raises(BadRowsError, match="row 2: no response"):
        load(make_config, data_dir, dataset="bad", streaming=True, max_steps=10)


def test_native_streams_report_bad_rows_as_they_are_read(make_config: Any, data_dir: Path) -> None:
    from lmf_engine.data.readers import read_dataset
    from lmf_engine.data.registry import parse_entry
    from lmf_engine.data.rows import BadRowReport, RowConverter

    spec = parse_entry("bad", {"file_name": "bad.json"})
    stream = read_dataset(spec, str(data_dir)).to_iterable_dataset()
    for on_bad_row in ("skip", "fail"):
        report = BadRowReport()
        converter = RowConverter(spec, "sft", "hub:bad", str(data_dir), on_bad_row == "fail", report)
        rows = stream.map(converter, with_indices=True, remove_columns=stream.column_names)
        if on_bad_row == "fail":
            with pytest.raises(BadRowsError, match="dataset bad \\(hub:bad\\) cannot be used:\n  row 2: no response"):
                list(rows)
        else:
            assert [r["_error"] is None for r in rows] == [True, False, True, False, True] and report.count == 2


def test_bad_rows_fail_with_dataset_file_row_and_reason(make_config: Any, data_dir: Path) -> None:
    with pytest.raises(BadRowsError) as info:
        load(make_config, data_dir, dataset="a,bad")
    assert str(info.value).splitlines()[:3] == [
        f"2 row(s) of dataset bad ({data_dir}/bad.json) cannot be used:",
        "  row 2: no response",
        "  row 4: field 'instruction' is a number, not text",
    ]
    assert info.value.count == 2 and info.value.dataset == "bad"


def test_skipped_bad_rows_keep_the_order_of_the_rest(make_config: Any, data_dir: Path) -> None:
    loaded = load(make_config, data_dir, dataset="a,bad", on_bad_row="skip", val_size=0.2, seed=3)
    with_bad = load(make_config, data_dir, dataset="a,b", val_size=0.2, seed=3)
    assert len(loaded.train) + len(loaded.eval) == 13 and len(with_bad.train) == 12
    assert loaded.bad_rows.count == 2 and loaded.bad_rows.per_dataset == {"bad": 2}
    assert "row 2: no response" in str(loaded.bad_rows)
    # the split is made before bad rows go, as LLaMA-Factory drops them only when tokenizing
    assert all(not p.startswith("bad") or p in ("bad0", "bad2", "bad4") for p in prompts(loaded.train))


def test_bad_row_numbers_follow_num_samples_back_to_the_file(make_config: Any, data_dir: Path) -> None:
    info = (
        (data_dir / "dataset_info.json")
        .read_text()
        .replace('"sampled": {"file_name": "b.jsonl"', '"sampled": {"file_name": "bad.json"')
    )
    (data_dir / "dataset_info.json").write_text(info)
    loaded = load(make_config, data_dir, dataset="sampled", on_bad_row="skip")
    assert {r.row for r in loaded.bad_rows.first} == {2, 4}


def test_all_rows_bad_is_an_error_even_when_skipping(make_config: Any, data_dir: Path) -> None:
    write_json(data_dir / "bad.json", [{"instruction": "x", "input": "", "output": None}] * 3)
    with pytest.raises(DataError, match="no usable rows in the training data\nskipped 3 row"):
        load(make_config, data_dir, dataset="bad", on_bad_row="skip")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"dataset": "rank"}, "dataset rank is a ranking dataset; use stage rm or dpo"),
        ({"dataset": "a", "stage": "dpo"}, "dataset a is not a ranking dataset; stage dpo needs one"),
        ({"dataset": "a", "stage": "kto"}, "stage kto needs a kto_tag column; dataset a has none"),
        ({"dataset": "kto"}, "dataset kto is a kto dataset \\(kto_tag column\\); use stage kto"),
        ({"dataset": "empty"}, "dataset empty \\(.*empty.json\\) has no rows"),
        (
            {"dataset": "typo"},
            "entry 'typo': columns.response names field 'outptu', which .* does not have .*did you mean output",
        ),
        ({"dataset": "nope"}, "dataset 'nope' is not defined in"),
        (
            {"dataset": "plain_txt", "stage": "pt"},
            "columns.prompt names field 'instruction', which .*docs.txt does not have \\(it has text\\); "
            "the entry has no columns object",
        ),
    ],
)
def test_dataset_level_errors(make_config: Any, data_dir: Path, values: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        load(make_config, data_dir, **values)


def test_ranking_kto_and_pretraining_stages(make_config: Any, data_dir: Path) -> None:
    rank = load(make_config, data_dir, dataset="rank", stage="rm").train
    assert [m["content"] for m in rank[0]["_response"]] == ["good", "bad"]
    kto = load(make_config, data_dir, dataset="kto", stage="kto").train
    assert kto["_kto_tag"] == [True, False, True, False] and all(len(r) == 1 for r in kto["_response"])
    docs = load(make_config, data_dir, dataset="docs", stage="pt").train
    assert prompts(docs) == ["one", "two", "three"] and docs["_response"] == [[], [], []]


def test_prediction_keeps_eval_rows_without_a_response(make_config: Any, data_dir: Path) -> None:
    loaded = load(
        make_config, data_dir, dataset="a", eval_dataset="bad", predict_with_generate=True, on_bad_row="skip"
    )
    assert prompts(loaded.eval) == ["bad0", "bad1", "bad2", "bad4"]
