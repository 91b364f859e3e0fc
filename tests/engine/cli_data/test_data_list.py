"""``lmf-engine data list``: every entry of dataset_info.json, what it is, and what is wrong with bad ones."""

import json
from pathlib import Path

from cli_data_support import add_entries, assert_user_error, tree_digest

DEMO_KINDS = {
    "demo_sft": ("alpaca", "sft", 107),
    "demo_multiturn": ("sharegpt", "sft", 58),
    "demo_dpo": ("alpaca", "preference", 64),
    "demo_kto": ("sharegpt", "kto", 62),
    "demo_pt": ("alpaca", "pretrain", 77),
    "demo_identity": ("alpaca", "sft", 41),
    "demo_mllm": ("sharegpt", "sft", 42),
    "demo_mllm_dpo": ("sharegpt", "preference", 21),
    "demo_mllm_kto": ("sharegpt", "kto", 21),
    "demo_video": ("sharegpt", "sft", 11),
    "demo_frames": ("sharegpt", "sft", 3),
    "demo_audio": ("sharegpt", "sft", 10),
}


def test_lists_the_demo_datasets(workspace: Path, cli) -> None:
    result = cli("data", "list", "--json")
    assert result.exit_code == 0, result.stderr
    entries = {e["name"]: e for e in result.json()}
    assert list(entries) == list(DEMO_KINDS)
    for name, (formatting, kind, _) in DEMO_KINDS.items():
        entry = entries[name]
        assert (entry["formatting"], entry["kind"], entry["problem"]) == (formatting, kind, None)
        assert entry["size"] == Path(entry["source"]).stat().st_size
        assert entry["rows"] is None  # text formats are counted only with --count
    table = cli("data", "list")
    assert table.exit_code == 0
    for name in DEMO_KINDS:
        assert name in table.stdout
    assert "12 dataset(s)" in table.stdout and "problem" not in table.stdout


def test_count_reads_text_formats(workspace: Path, cli) -> None:
    entries = {e["name"]: e for e in cli("data", "list", "--count", "--json").json()}
    assert {name: e["rows"] for name, e in entries.items()} == {n: rows for n, (_, _, rows) in DEMO_KINDS.items()}


def test_parquet_and_saved_folders_show_rows_without_count(workspace: Path, cli) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets import Dataset

    rows = [{"instruction": f"q{i}", "input": "", "output": f"a{i}"} for i in range(250)]
    pq.write_table(pa.Table.from_pylist(rows), workspace / "data" / "big.parquet", row_group_size=100)
    Dataset.from_list(rows[:30]).save_to_disk(str(workspace / "data" / "saved"))
    add_entries(workspace, {"pq": {"file_name": "big.parquet"}, "saved": {"file_name": "saved"}})
    entries = {e["name"]: e for e in cli("data", "list", "--json").json()}
    assert (entries["pq"]["rows"], entries["pq"]["problem"]) == (250, None)
    assert (entries["saved"]["rows"], entries["saved"]["problem"]) == (30, None)
    assert entries["saved"]["size"] == sum(p.stat().st_size for p in (workspace / "data" / "saved").iterdir())


def test_bad_entries_are_listed_with_their_problem(workspace: Path, cli) -> None:
    add_entries(
        workspace,
        {
            "broken_json": {"file_name": "broken.json"},
            "broken_jsonl": {"file_name": "broken.jsonl", "formatting": "sharegpt"},
            "gone": {"file_name": "gone.json"},
            "typo_column": {"file_name": "demo_sft.json", "columns": {"prompt": "instrution", "response": "output"}},
            "typo_key": {"file_name": "demo_sft.json", "formating": "alpaca"},
            "empty": {"file_name": "empty.json"},
            "images": {"file_name": "demo_sft.json", "columns": {"prompt": "instruction", "images": "pics"}},
        },
        {
            "broken.json": '[\n  {"instruction": "a", "output": "b"},\n  {"instruction": "c" "output": "d"}\n]\n',
            "broken.jsonl": '{"conversations": []}\n{"conversations": [}\n',
            "empty.json": "[]",
        },
    )
    before = tree_digest(workspace)
    result = cli("data", "list", "--json")
    assert result.exit_code == 0, result.stderr
    problems = {e["name"]: e["problem"] for e in result.json()}
    assert problems["broken_json"] == "data/broken.json:3:23: invalid JSON: Expecting ',' delimiter"
    assert problems["broken_jsonl"] == "data/broken.jsonl:2:20: invalid JSON: Expecting value"
    assert "file_name 'gone.json': data/gone.json does not exist" in problems["gone"]
    assert "columns.prompt names field 'instrution'" in problems["typo_column"]
    assert "did you mean instruction?" in problems["typo_column"]
    assert "unknown key 'formating'; did you mean formatting?" in problems["typo_key"]
    assert problems["empty"] == "dataset empty (data/empty.json) has no rows"
    assert "columns.images names field 'pics', which data/demo_sft.json does not have" in problems["images"]
    assert all(problems[name] is None for name in DEMO_KINDS)
    table = cli("data", "list")
    assert "19 dataset(s), 7 with problems" in table.stdout
    assert "gone: data/dataset_info.json, entry 'gone'" in table.stdout
    assert tree_digest(workspace) == before


def test_missing_or_malformed_dataset_info_is_a_user_error(workspace: Path, cli) -> None:
    assert_user_error(cli("data", "list", "--dir", "nowhere"), "cannot find nowhere/dataset_info.json")
    (workspace / "data" / "dataset_info.json").write_text('{\n  "a": {"file_name": "x.json",}\n}\n')
    assert_user_error(cli("data", "list"), "data/dataset_info.json is not valid JSON: line 2, column 31")
    (workspace / "data" / "dataset_info.json").write_text(json.dumps(["a"]))
    assert_user_error(cli("data", "list"), "must hold one JSON object of dataset entries, not list")
