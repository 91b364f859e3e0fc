"""Rows a hostile file can hold: nesting thousands of levels deep gets a one-line error naming file and row from
every data command, never a RecursionError."""

import json
from pathlib import Path

from cli_data_support import add_entries, assert_user_error

DEEP = "[" * 5000 + "]" * 5000


def deep_dataset(workspace: Path) -> None:
    row = {"instruction": "Say hi", "input": "", "output": "hi"}
    lines = [json.dumps(row), '{"instruction": ' + DEEP + ', "output": "x"}', json.dumps(row)]
    add_entries(workspace, {"deep": {"file_name": "deep.jsonl"}}, {"deep.jsonl": "\n".join(lines) + "\n"})


def test_a_row_nested_thousands_deep_is_named_by_every_command(workspace: Path, cli) -> None:
    deep_dataset(workspace)
    assert_user_error(cli("data", "preview", "deep"), "data/deep.jsonl:2", "nested too deeply")
    listed = cli("data", "list", "--json")
    assert listed.exit_code == 0 and "Traceback" not in listed.stderr
    entry = next(e for e in listed.json() if e["name"] == "deep")
    assert "data/deep.jsonl:2" in json.dumps(entry) and "nested too deeply" in json.dumps(entry)
    for command in (("data", "stats"), ("data", "encode")):
        extra = ("--out", "deep.out.jsonl") if command[1] == "encode" else ()
        result = cli(*command, "configs/sft_lora.yaml", "dataset=deep", *extra)
        assert_user_error(result, "data/deep.jsonl", "line 2", "nested too deeply")
