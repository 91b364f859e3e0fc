"""``lmf-engine data preview``: pages of raw rows, search, the canonical form, bad rows, and no torch import."""

import json
import subprocess
import sys
from pathlib import Path

from cli_data_support import add_entries, assert_user_error, tree_digest


def demo_rows(workspace: Path, name: str) -> list[dict]:
    path = workspace / "data" / name
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return json.loads(path.read_text(encoding="utf-8"))


def test_pages_are_numbered_from_one(workspace: Path, cli) -> None:
    rows = demo_rows(workspace, "demo_sft.json")
    result = cli("data", "preview", "demo_sft", "--start", "11", "--rows", "3", "--json")
    assert result.exit_code == 0, result.stderr
    page = result.json()
    assert page["files"] == ["data/demo_sft.json"]
    assert [r["row"] for r in page["rows"]] == [11, 12, 13]
    assert [r["values"] for r in page["rows"]] == rows[10:13]
    last = cli("data", "preview", "demo_sft", "--start", str(len(rows)), "--json").json()["rows"]
    assert [r["values"] for r in last] == rows[-1:]
    text = cli("data", "preview", "demo_multiturn", "--rows", "2")
    assert text.exit_code == 0
    assert "row 2  data/demo_multiturn.jsonl" in text.stdout and "conversations: [" in text.stdout


def test_search_a_column(workspace: Path, cli) -> None:
    rows = demo_rows(workspace, "demo_sft.json")
    wanted = [i + 1 for i, r in enumerate(rows) if "capital" in r["output"].casefold()]
    assert len(wanted) > 3
    result = cli("data", "preview", "demo_sft", "--search", "output=Capital", "--rows", "3", "--json")
    assert [r["row"] for r in result.json()["rows"]] == wanted[:3]
    later = cli("data", "preview", "demo_sft", "--search", "output=capital", "--start", str(wanted[1] + 1), "--json")
    assert [r["row"] for r in later.json()["rows"]] == wanted[2:12]
    anywhere = cli("data", "preview", "demo_sft", "--search", "=no such text", "--json")
    assert anywhere.json()["rows"] == []
    assert "no row matches" in cli("data", "preview", "demo_sft", "--search", "=no such text").stdout


def test_search_mistakes_are_user_errors(workspace: Path, cli) -> None:
    assert_user_error(
        cli("data", "preview", "demo_sft", "--search", "outptu=x"),
        "unknown column 'outptu': data/demo_sft.json has instruction, input, output; did you mean output?",
    )
    assert_user_error(cli("data", "preview", "demo_sft", "--search", "x"), "expected COLUMN=TEXT")


def test_canonical_messages_of_every_kind(workspace: Path, cli) -> None:
    multiturn = cli("data", "preview", "demo_multiturn", "--rows", "1", "--canonical", "--json").json()["rows"][0]
    raw = demo_rows(workspace, "demo_multiturn.jsonl")[0]
    turns = raw["conversations"]
    assert multiturn["system"] == raw["system"]
    assert [m["content"] for m in multiturn["messages"]] == [t["value"] for t in turns[:-1]]
    assert [m["role"] for m in multiturn["messages"]] == ["user", "assistant", "user"]
    assert multiturn["response"] == [{"role": "assistant", "content": turns[-1]["value"]}]
    dpo = cli("data", "preview", "demo_dpo", "--rows", "1", "--canonical", "--json").json()["rows"][0]
    raw = demo_rows(workspace, "demo_dpo.json")[0]
    assert [m["content"] for m in dpo["response"]] == [raw["chosen"], raw["rejected"]]
    kto = cli("data", "preview", "demo_kto", "--rows", "2", "--canonical", "--json").json()["rows"]
    tags = [r["kto_tag"] for r in demo_rows(workspace, "demo_kto.json")[:2]]
    assert [r["kto_tag"] for r in kto] == tags
    pt = cli("data", "preview", "demo_pt", "--rows", "1", "--canonical", "--json").json()["rows"][0]
    assert pt["response"] == [] and pt["messages"][0]["role"] == "user"
    text = cli("data", "preview", "demo_dpo", "--rows", "1", "--canonical").stdout
    assert "chosen (assistant): " + raw["chosen"] in text and "rejected (assistant): " in text


def test_bad_rows_name_file_row_and_reason(workspace: Path, cli) -> None:
    conversations = [
        {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]},
        {"conversations": [{"from": "gpt", "value": "hello"}, {"from": "human", "value": "hi"}]},
        {"conversations": [{"from": "human", "value": 3}, {"from": "gpt", "value": "three"}]},
        {"conversations": "not a list"},
    ]
    add_entries(
        workspace,
        {"chats": {"file_name": "chats.jsonl", "formatting": "sharegpt"}},
        {"chats.jsonl": "".join(json.dumps(row) + "\n" for row in conversations)},
    )
    rows = cli("data", "preview", "chats", "--canonical", "--json").json()["rows"]
    assert "error" not in rows[0]
    assert rows[1] == {
        "row": 2,
        "file": "data/chats.jsonl",
        "error": "turn 1 has role 'gpt'; expected 'human' or 'observation'",
    }
    assert rows[2]["error"] == "turn 1 is a number, not text"
    assert rows[3]["error"] == "field 'conversations' is a text, not a list of messages"
    text = cli("data", "preview", "chats", "--canonical").stdout
    assert "row 3  data/chats.jsonl\n  cannot be used: turn 1 is a number, not text" in text
    assert "3 of 4 rows cannot be used" in text


def test_file_errors_are_user_errors(workspace: Path, cli) -> None:
    add_entries(
        workspace,
        {
            "broken": {"file_name": "broken.jsonl"},
            "array": {"file_name": "array.json"},
            "gone": {"file_name": "gone.jsonl"},
            "empty": {"file_name": "empty.jsonl"},
            "typo": {"file_name": "demo_sft.json", "columns": {"prompt": "instruction", "response": "answer"}},
            "hub": {"hf_hub_url": "someone/data"},
        },
        {
            "broken.jsonl": '{"instruction": "a", "output": "b"}\n{"instruction": "a" , "output": }\n',
            "array.json": '[{"instruction": "a", "output": "b"}\n, {"instruction": "c", "output": "d"]\n',
            "empty.jsonl": "\n",
        },
    )
    before = tree_digest(workspace)
    assert_user_error(cli("data", "preview", "broken"), "data/broken.jsonl:2:33: invalid JSON: Expecting value")
    assert_user_error(cli("data", "preview", "array"), "data/array.json:2:37: invalid JSON")
    assert_user_error(cli("data", "preview", "gone"), "file_name 'gone.jsonl': data/gone.jsonl does not exist")
    assert_user_error(cli("data", "preview", "empty"), "dataset empty (data/empty.jsonl) has no rows")
    assert_user_error(cli("data", "preview", "demo_sft", "--start", "500"), "--start 500 is past the end", "107 rows")
    assert_user_error(
        cli("data", "preview", "typo", "--canonical"), "columns.response names field 'answer'", "it has instruction"
    )
    assert_user_error(cli("data", "preview", "hub"), "dataset hub is not a local file (hf_hub: someone/data)")
    assert_user_error(
        cli("data", "preview", "demo_kt"), "dataset 'demo_kt' is not defined", "did you mean demo_kto or"
    )
    assert tree_digest(workspace) == before


def test_a_page_does_not_read_the_rest_of_the_file(workspace: Path, cli) -> None:
    lines = [json.dumps({"instruction": f"q{i}", "input": "", "output": f"a{i}"}) for i in range(3000)]
    add_entries(workspace, {"long": {"file_name": "long.jsonl"}}, {"long.jsonl": "\n".join(lines) + "\n{broken\n"})
    result = cli("data", "preview", "long", "--rows", "2", "--json")
    assert result.exit_code == 0, result.stderr
    assert [r["values"]["output"] for r in result.json()["rows"]] == ["a0", "a1"]
    assert_user_error(cli("data", "preview", "long", "--start", "2999", "--rows", "5"), "data/long.jsonl:3001:2")


def test_folder_datasets_number_rows_across_files(workspace: Path, cli) -> None:
    folder = workspace / "data" / "parts"
    folder.mkdir()
    for part in range(2):
        rows = [{"instruction": f"p{part}-{i}", "input": "", "output": "x"} for i in range(3)]
        (folder / f"part{part}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    add_entries(workspace, {"parts": {"file_name": "parts"}})
    page = cli("data", "preview", "parts", "--start", "3", "--rows", "2", "--json").json()
    first, second = page["files"]
    assert [(r["row"], r["file"]) for r in page["rows"]] == [(3, first), (4, second)]
    found = cli("data", "preview", "parts", "--search", "instruction=-1", "--json").json()["rows"]
    assert [r["row"] for r in found] == [2, 5]


def test_list_and_preview_do_not_import_torch(workspace: Path) -> None:
    code = (
        "import sys\n"
        "from lmf_engine.cli.main import app\n"
        "for argv in (['data', 'list', '--count'], ['data', 'preview', 'demo_kto', '--canonical'],\n"
        "             ['data', 'preview', 'demo_sft', '--search', 'output=Paris']):\n"
        "    try:\n"
        "        app(argv)\n"
        "    except SystemExit as exc:\n"
        "        assert not exc.code, exc.code\n"
        "heavy = ('torch', 'transformers', 'datasets', 'trl', 'peft', 'accelerate')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=workspace, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "[]"
    assert "demo_kto" in result.stdout


def test_a_huge_cell_is_shown_cut(workspace: Path, cli) -> None:
    """A 3 MiB cell: the page shows 2,000 characters and how many more there are, in rich and in --json."""
    import json as json_module

    from cli_data_support import add_entries

    big = "x" * (3 << 20)
    lines = [
        {"instruction": "short", "input": "", "output": "ok"},
        {"instruction": big, "input": "", "output": "done"},
    ]
    add_entries(
        workspace,
        {"huge": {"file_name": "huge.jsonl"}},
        {"huge.jsonl": "".join(json_module.dumps(r) + "\n" for r in lines)},
    )
    result = cli("data", "preview", "huge")
    assert result.exit_code == 0, result.stderr
    assert f"… {len(big) - 2000:,} more characters" in result.stdout and len(result.stdout) < 10_000
    shown = cli("data", "preview", "huge", "--json", "--max-chars", "10").json()["rows"]
    assert shown[1]["values"]["instruction"] == "x" * 10 + f"… {len(big) - 10:,} more characters"
    assert shown[1]["cut"] == {"instruction": len(big)} and "cut" not in shown[0]
