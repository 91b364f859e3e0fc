"""``lmf-engine data encode``: the encoded examples the trainer gets, as JSON Lines, written atomically."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_data_support import add_entries, assert_user_error, tree_digest


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def pipeline(config_file: str, cache: str, *overrides: str):
    from lmf_engine.config import load_config
    from lmf_engine.data.pipeline import prepare_data

    return prepare_data(load_config(config_file, [*overrides, f"cache_dir={cache}"]), use_cache=False)


@pytest.mark.parametrize(
    ("config", "fields"),
    [
        ("sft_lora", ["input_ids", "attention_mask", "labels"]),
        ("dpo_lora", [f"{s}_{k}" for s in ("chosen", "rejected") for k in ("input_ids", "attention_mask", "labels")]),
        ("kto_lora", ["input_ids", "attention_mask", "labels", "kl_input_ids", "kl_attention_mask", "kl_labels",
                      "kto_tags"]),
    ],
)  # fmt: skip
def test_rows_are_the_pipeline_output_in_order(
    workspace: Path, cli, datasets_cache: str, config: str, fields: list[str]
) -> None:
    result = cli("data", "encode", f"configs/{config}.yaml", "--out", "out/train.jsonl", "--json")
    assert result.exit_code == 0, result.stderr
    rows = read_jsonl(workspace / "out" / "train.jsonl")
    expected = pipeline(f"configs/{config}.yaml", datasets_cache).train.to_list()
    assert rows == expected
    assert list(rows[0]) == fields
    summary = result.json()
    assert (summary["rows"], summary["columns"], summary["split"]) == (len(rows), fields, "train")
    assert summary["tokens"] == sum(len(v) for row in rows for k, v in row.items() if k.endswith("input_ids"))
    assert summary["skipped_bad_rows"] == 0 and summary["from_cache"] is False


def test_eval_split_and_cache_reuse(
    workspace: Path, cli, datasets_cache: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LMF_CACHE_HOME", str(tmp_path / "lmf-cache"))
    first = cli(
        "data", "encode", "configs/sft_lora.yaml", "overwrite_cache=false", "--split", "eval", "--out", "e.jsonl"
    )
    assert first.exit_code == 0, first.stderr
    assert "cache: not used (encoded now, saved to" in first.stdout
    expected = pipeline("configs/sft_lora.yaml", datasets_cache).eval.to_list()
    assert read_jsonl(workspace / "e.jsonl") == expected
    again = cli(
        "data", "encode", "configs/sft_lora.yaml", "overwrite_cache=false", "--split", "eval", "--out", "e2.jsonl"
    )
    assert "cache: used (read from" in again.stdout
    assert (workspace / "e2.jsonl").read_bytes() == (workspace / "e.jsonl").read_bytes()
    no_eval = cli("data", "encode", "configs/dpo_lora.yaml", "--split", "eval", "--out", "e3.jsonl")
    assert_user_error(no_eval, "the config has no validation data (val_size or eval_dataset)")
    assert not (workspace / "e3.jsonl").exists()


def test_each_eval_dataset_is_named(workspace: Path, cli) -> None:
    overrides = ["val_size=0", "eval_dataset=demo_sft,demo_identity", "eval_on_each_dataset=true", "max_samples=5"]
    result = cli(
        "data", "encode", "configs/sft_lora.yaml", *overrides, "--split", "eval", "--out", "e.jsonl", "--json"
    )
    assert result.exit_code == 0, result.stderr
    rows = read_jsonl(workspace / "e.jsonl")
    assert [row["eval_dataset"] for row in rows] == ["demo_sft"] * 5 + ["demo_identity"] * 5
    assert result.json()["per_dataset"] == {"demo_sft": 5, "demo_identity": 5}


def test_skipped_bad_rows_in_the_summary(workspace: Path, cli) -> None:
    rows = [{"instruction": "a", "input": "", "output": "b"}, {"instruction": 1, "input": "", "output": "c"}]
    add_entries(workspace, {"mixed": {"file_name": "mixed.jsonl"}}, {"mixed.jsonl": "\n".join(map(json.dumps, rows))})
    overrides = ["dataset=mixed", "val_size=0", "eval_strategy=no", "on_bad_row=skip"]
    result = cli("data", "encode", "configs/sft_lora.yaml", *overrides, "--out", "m.jsonl")
    assert result.exit_code == 0, result.stderr
    assert "skipped bad rows: 1" in result.stdout
    assert "dataset mixed (data/mixed.jsonl), row 2:" in result.stdout
    assert len(read_jsonl(workspace / "m.jsonl")) == 1


GOOD = '{"instruction": "a", "input": "", "output": "b"}'
BROKEN_FILES = {
    "broken.json": f'[\n  {GOOD},\n  {{"instruction": "c", "input": "" "output": "d"}}\n]',
    "broken.jsonl": f'{GOOD}\n\n{{"instruction": "a", "input": "", "output": b}}\n',
    "types.json": f'[{GOOD}, {{"instruction": {{"x": 1}}, "input": "", "output": "c"}}]',
    "empty.json": "[]",
}
BROKEN_ENTRIES = {
    "broken_json": {"file_name": "broken.json"},
    "broken_jsonl": {"file_name": "broken.jsonl"},
    "gone": {"file_name": "gone.json"},
    "typo": {
        "file_name": "demo_sft.json",
        "columns": {"prompt": "instruction", "query": "inptu", "response": "output"},
    },
    "types": {"file_name": "types.json"},
    "empty": {"file_name": "empty.json"},
}
USER_ERRORS = [
    (["dataset=broken_json"], ["dataset broken_json: data/broken.json: line 3, column 36: Expecting ',' delimiter"]),
    (["dataset=broken_jsonl"], ["dataset broken_jsonl: data/broken.jsonl: line 3, column 45: Expecting value"]),
    (["dataset=gone"], ["entry 'gone': file_name 'gone.json': data/gone.json does not exist"]),
    (["dataset=typo"], ["columns.query names field 'inptu'", "did you mean input?"]),
    (["dataset=types"], ["1 row(s) of dataset types (data/types.json) cannot be used", "row 2: field 'instruction'"]),
    (["dataset=empty"], ["dataset empty (data/empty.json) has no rows"]),
    (["dataset=demo_dpo"], ["dataset demo_dpo is a ranking dataset; use stage rm or dpo"]),
    (["stage=kto"], ["stage kto needs a kto_tag column; dataset demo_sft has none"]),
    (["template=lama3"], ["template: unknown template 'lama3'; did you mean llama3"]),
    (["dataset=demo_sft,demo_identiy"], ["dataset 'demo_identiy' is not defined", "did you mean demo_identity?"]),
    (["cutoff_len=many"], ["configs/sft_lora.yaml: 1 problem", "cutoff_len='many'"]),
    (["model_name_or_path=models/absent"], ["model_name_or_path: cannot load a tokenizer from 'models/absent'"]),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "fragments"), USER_ERRORS, ids=[" ".join(o) for o, _ in USER_ERRORS])
def test_user_errors_exit_2_and_change_nothing(
    workspace: Path, cli, overrides: list[str], fragments: list[str]
) -> None:
    add_entries(workspace, BROKEN_ENTRIES, BROKEN_FILES)
    out = workspace / "out.jsonl"
    out.write_text("previous contents\n")
    before = tree_digest(workspace)
    assert_user_error(cli("data", "encode", "configs/sft_lora.yaml", *overrides, "--out", "out.jsonl"), *fragments)
    assert tree_digest(workspace) == before  # no half file, no temp file, the user's files unchanged


def test_out_must_be_a_file(workspace: Path, cli) -> None:
    (workspace / "outdir").mkdir()
    assert_user_error(cli("data", "encode", "configs/sft_lora.yaml", "--out", "outdir"), "--out outdir is a folder")


def test_a_real_process_prints_no_traceback(workspace: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lmf_engine",
            "data",
            "encode",
            "configs/sft_lora.yaml",
            "dataset=demo_kto",
            "--out",
            "o",
        ],
        capture_output=True,
        text=True,
        cwd=workspace,
        timeout=300,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip().splitlines()[-1]
        == "error: dataset demo_kto is a kto dataset (kto_tag column); use stage kto"
    )
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not (workspace / "o").exists()


class BreaksAfterOneBatch:
    """A dataset whose second batch cannot be read."""

    def iter(self, batch_size: int):
        yield {"input_ids": [[1, 2]], "attention_mask": [[1, 1]], "labels": [[-100, 2]]}
        raise OSError("disk gone")


def test_a_failure_while_writing_leaves_the_old_file(tmp_path: Path) -> None:
    from lmf_engine.cli.data_tokens import write_jsonl

    out = tmp_path / "encoded.jsonl"
    out.write_text("old\n")
    with pytest.raises(OSError, match="disk gone"):
        write_jsonl([(None, BreaksAfterOneBatch())], out)
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["encoded.jsonl"]
