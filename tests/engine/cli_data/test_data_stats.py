"""``lmf-engine data stats``: token lengths of a config's training data through its template and tokenizer."""

from pathlib import Path

from cli_data_support import add_entries, assert_user_error, tree_digest


def encoded_lengths(config_file: str, cache: str, *overrides: str, pairwise: bool = False) -> list[int]:
    """Lengths the pipeline gives with a cutoff nothing reaches (so nothing is truncated)."""
    from lmf_engine.config import load_config
    from lmf_engine.data.pipeline import prepare_data

    config = load_config(config_file, [*overrides, "cutoff_len=100000", f"cache_dir={cache}"])
    train = prepare_data(config, use_cache=False).train
    if pairwise:
        return [
            max(len(c), len(r)) for c, r in zip(train["chosen_input_ids"], train["rejected_input_ids"], strict=True)
        ]
    return [len(ids) for ids in train["input_ids"]]


def test_sft_lengths_match_the_pipeline(workspace: Path, cli, datasets_cache: str) -> None:
    lengths = sorted(encoded_lengths("configs/sft_lora.yaml", datasets_cache))
    cutoff = lengths[len(lengths) // 2]
    result = cli("data", "stats", "configs/sft_lora.yaml", f"cutoff_len={cutoff}", "--bins", "5", "--json")
    assert result.exit_code == 0, result.stderr
    stats = result.json()
    assert (stats["count"], stats["min"], stats["max"]) == (len(lengths), lengths[0], lengths[-1])
    assert stats["mean"] == sum(lengths) / len(lengths)
    assert stats["truncated"] == sum(length > cutoff for length in lengths)
    assert stats["truncated_share"] == stats["truncated"] / len(lengths)
    assert stats["percentiles"]["p50"] == lengths[(len(lengths) + 1) // 2 - 1]
    assert sum(b["count"] for b in stats["bins"]) == len(lengths) and len(stats["bins"]) <= 5
    assert (stats["stage"], stats["template"], stats["packing"]) == ("sft", "qwen", False)


def test_pairwise_lengths_use_the_longer_answer(workspace: Path, cli, datasets_cache: str) -> None:
    lengths = encoded_lengths("configs/dpo_lora.yaml", datasets_cache, pairwise=True)
    stats = cli("data", "stats", "configs/dpo_lora.yaml", "--json").json()
    assert (stats["count"], stats["max"], stats["min"]) == (len(lengths), max(lengths), min(lengths))


def test_report_table_and_histogram(workspace: Path, cli) -> None:
    result = cli("data", "stats", "configs/kto_lora.yaml", "cutoff_len=80")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "demo_kto: stage kto, template qwen" in out
    for label in ("examples", "p50", "p99", "cutoff_len", "truncated at cutoff_len", "skipped bad rows", "█"):
        assert label in out


def test_skipped_rows_are_counted(workspace: Path, cli) -> None:
    rows = '[{"instruction": "a", "input": "", "output": "b"}, {"instruction": ["x"], "input": "", "output": "c"}, '
    rows += '{"instruction": "d", "input": "", "output": "e"}]'
    add_entries(workspace, {"mixed": {"file_name": "mixed.json"}}, {"mixed.json": rows})
    strict = cli("data", "stats", "configs/sft_lora.yaml", "dataset=mixed", "val_size=0", "eval_strategy=no")
    assert_user_error(
        strict, "1 row(s) of dataset mixed (data/mixed.json) cannot be used", "row 2:", "on_bad_row: skip"
    )
    stats = cli(
        "data",
        "stats",
        "configs/sft_lora.yaml",
        "dataset=mixed",
        "val_size=0",
        "eval_strategy=no",
        "on_bad_row=skip",
        "--json",
    )
    assert (stats.json()["count"], stats.json()["skipped_bad_rows"]) == (2, 1)


def test_config_and_data_mistakes_are_user_errors(workspace: Path, cli) -> None:
    before = tree_digest(workspace)
    cfg = "configs/sft_lora.yaml"
    assert_user_error(cli("data", "stats", cfg, "lora_rnak=4"), "lora_rnak: unknown key; did you mean lora_rank?")
    assert_user_error(cli("data", "stats", cfg, "dataset=demo_dpo"), "dataset demo_dpo is a ranking dataset")
    assert_user_error(cli("data", "stats", cfg, "template=qwen2_5"), "unknown template 'qwen2_5'; did you mean")
    assert_user_error(cli("data", "stats", cfg, "dataset=demo_sfx"), "did you mean demo_sft")
    assert_user_error(cli("data", "stats", cfg, "model_name_or_path=models/none"), "model_name_or_path: cannot load")
    assert_user_error(cli("data", "stats", cfg, "dataset=null"), "dataset: training needs a dataset")
    no_data = cli("data", "stats", cfg, "dataset=null", "do_train=false", "val_size=0", "eval_strategy=no")
    assert_user_error(no_data, "the config names no training data: set `dataset`")
    assert_user_error(cli("data", "stats", "configs/none.yaml"), "configs/none.yaml")
    assert tree_digest(workspace) == before
