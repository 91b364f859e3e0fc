"""dataset_info.json parsing: LLaMA-Factory's defaults and precedence, and one clear error per mistake."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from dataset_support import SHARED_DATA, write_info

from lmf_engine.data.errors import DataError
from lmf_engine.data.registry import (
    Columns,
    Tags,
    get_dataset_specs,
    parse_entry,
    read_dataset_info,
    split_names,
)


def test_defaults_apply_only_without_a_columns_object() -> None:
    plain = parse_entry("a", {"file_name": "a.json"})
    assert plain.load_from == "file" and plain.path == "a.json"
    assert (plain.formatting, plain.ranking, plain.split, plain.subset) == ("alpaca", False, "train", None)
    assert plain.columns == Columns() and plain.columns.query == "input"
    partial = parse_entry("b", {"file_name": "b.jsonl", "columns": {"prompt": "text"}})
    assert partial.columns.prompt == "text"
    assert partial.columns.query is None and partial.columns.response is None  # as LLaMA-Factory's DatasetAttr.join


def test_tags_object_unsets_the_tags_it_does_not_name() -> None:
    spec = parse_entry(
        "m",
        {"file_name": "m.json", "formatting": "sharegpt", "tags": {"role_tag": "role", "content_tag": "content"}},
    )
    assert spec.tags.role_tag == "role" and spec.tags.user_tag is None and spec.tags.system_tag is None
    assert parse_entry("n", {"file_name": "n.json"}).tags == Tags()


def test_source_precedence_and_hub_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("USE_MODELSCOPE_HUB", raising=False)
    entry = {"hf_hub_url": "org/ds", "ms_hub_url": "ms/ds", "script_url": "s", "file_name": "f.json"}
    spec = parse_entry("x", {**entry, "subset": "en", "split": "validation", "folder": "python", "num_samples": 5})
    assert (spec.load_from, spec.path, spec.subset, spec.split, spec.folder) == (
        "hf_hub",
        "org/ds",
        "en",
        "validation",
        "python",
    )
    assert spec.num_samples == 5
    assert parse_entry("x", {"ms_hub_url": "ms/ds"}).load_from == "ms_hub"
    assert parse_entry("x", {"script_url": "s", "file_name": "f"}).load_from == "script"
    assert parse_entry("x", {"cloud_file_name": "s3://b/f.json", "file_name": "f"}).load_from == "cloud_file"
    monkeypatch.setenv("USE_MODELSCOPE_HUB", "1")
    assert parse_entry("x", entry).load_from == "ms_hub"


def test_used_columns_follow_the_formatting() -> None:
    alpaca = parse_entry("a", {"file_name": "a.json", "columns": {"prompt": "q", "response": "r", "system": "s"}})
    assert alpaca.used_columns() == {"prompt": "q", "response": "r", "system": "s"}
    openai = parse_entry(
        "o", {"file_name": "o.json", "formatting": "openai", "columns": {"messages": "m", "system": "s", "tools": "t"}}
    )
    assert openai.used_columns() == {"messages": "m"}  # read with .get(): may be absent
    ranking = parse_entry(
        "r", {"file_name": "r.json", "ranking": True, "columns": {"prompt": "p", "chosen": "c", "rejected": "x"}}
    )
    assert ranking.used_columns() == {"prompt": "p", "chosen": "c", "rejected": "x"}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"file_name": "a.json", "colums": {}}, "unknown key 'colums'; did you mean columns?"),
        ({"file_name": "a.json", "columns": {"respone": "out"}}, "unknown column 'respone'; did you mean response?"),
        ({"file_name": "a.json", "tags": {"role": "r"}}, "unknown tag 'role'"),
        ({"file_name": "a.json", "formatting": "chatml"}, "formatting must be one of alpaca, sharegpt, openai"),
        ({"file_name": "a.json", "ranking": "yes"}, "ranking must be true or false"),
        ({"file_name": "a.json", "num_samples": 0}, "num_samples must be a whole number >= 1"),
        ({"file_name": "a.json", "columns": {"prompt": 3}}, "columns.prompt must be a field name"),
        ({"file_name": "a.json", "columns": []}, "'columns' must be an object"),
        ({"formatting": "alpaca"}, "needs file_name"),
        ({"file_name": ""}, "file_name must be a non-empty text"),
        ("a.json", "must be an object"),
    ],
)
def test_bad_entries_name_file_and_entry(entry: object, message: str) -> None:
    with pytest.raises(DataError) as info:
        parse_entry("my_data", entry, "data/dataset_info.json")
    assert str(info.value).startswith("data/dataset_info.json, entry 'my_data': ")
    assert message in str(info.value)
    assert info.value.dataset == "my_data"


def test_old_file_sha1_key_is_accepted() -> None:
    assert parse_entry("a", {"file_name": "a.json", "file_sha1": "abc"}).path == "a.json"


def test_malformed_json_reports_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "dataset_info.json").write_text('{\n  "a": {"file_name": "a.json"},\n  "b": {"file_name" "b"}\n}\n')
    with pytest.raises(DataError) as info:
        read_dataset_info(tmp_path)
    assert (
        str(info.value)
        == f"{tmp_path}/dataset_info.json is not valid JSON: line 3, column 21: Expecting ':' delimiter"
    )


def test_missing_and_non_object_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"cannot find .*dataset_info\.json"):
        read_dataset_info(tmp_path / "nowhere")
    (tmp_path / "dataset_info.json").write_text("[1, 2]")
    with pytest.raises(DataError, match="must hold one JSON object of dataset entries"):
        read_dataset_info(tmp_path)


def test_unknown_dataset_suggests_close_names(tmp_path: Path) -> None:
    write_info(tmp_path, {"alpaca_en_demo": {"file_name": "a.json"}, "identity": {"file_name": "i.json"}})
    with pytest.raises(DataError) as info:
        get_dataset_specs("identity, alpaca_en_dem", tmp_path)
    assert "dataset 'alpaca_en_dem' is not defined in" in str(info.value)
    assert str(info.value).endswith("did you mean alpaca_en_demo?")


def test_specs_in_order_online_and_split_names(tmp_path: Path) -> None:
    write_info(tmp_path, {"a": {"file_name": "a.json"}, "b": {"file_name": "b.json", "formatting": "sharegpt"}})
    assert [s.name for s in get_dataset_specs("b,a", tmp_path)] == ["b", "a"]
    assert get_dataset_specs(None, tmp_path) == []
    (online,) = get_dataset_specs("org/data", "ONLINE")
    assert (online.load_from, online.path, online.columns) == ("hf_hub", "org/data", Columns())
    assert split_names(" a , b ") == ["a", "b"] and split_names(None) == []


def test_problems_lists_every_bad_entry(tmp_path: Path) -> None:
    write_info(tmp_path, {"ok": {"file_name": "a.json"}, "bad": {"file_nam": "b.json"}, "worse": 3})
    problems = read_dataset_info(tmp_path).problems()
    assert [p.dataset for p in problems] == ["bad", "worse"]


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/lmf-data is not present")
def test_llamafactory_dataset_info_parses_whole() -> None:
    info = read_dataset_info(SHARED_DATA)
    assert info.problems() == []
    raw = json.loads((SHARED_DATA / "dataset_info.json").read_text())
    assert len(info.names()) == len(raw) > 100
    assert info.spec("kto_en_demo").is_kto and info.spec("dpo_en_demo").ranking
    assert info.spec("mllm_demo").media_columns == ["images"]


def test_importing_registry_and_converters_is_cheap() -> None:
    code = (
        "import sys, lmf_engine.data.registry, lmf_engine.data.converters, lmf_engine.data.loading\n"
        "print(sorted(m for m in ('torch', 'datasets', 'pyarrow', 'numpy', 'pandas') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
