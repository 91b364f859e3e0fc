"""The demo workspace: layout, datasets valid in the formats dataset_info.json declares, configs, and safe re-runs."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from transformers import AutoTokenizer

from lmf_engine.demo.workspace import DEMO_MODEL_DIRNAME, demo_config_names, init_demo_workspace

DATASETS = {
    "demo_sft", "demo_multiturn", "demo_dpo", "demo_kto", "demo_pt", "demo_identity", "demo_mllm", "demo_mllm_dpo",
    "demo_mllm_kto", "demo_video", "demo_frames", "demo_audio",
}  # fmt: skip
# The keys the demo configs may use: ordinary LLaMA-Factory 0.9.5 keys.
# fmt: off
LF_KEYS = {
    "model_name_or_path", "trust_remote_code", "stage", "do_train", "finetuning_type", "lora_rank", "lora_alpha",
    "lora_target", "freeze_trainable_layers", "dataset", "dataset_dir", "template", "cutoff_len", "max_samples",
    "overwrite_cache", "preprocessing_num_workers", "output_dir", "logging_steps", "save_steps", "plot_loss",
    "overwrite_output_dir", "report_to", "per_device_train_batch_size", "gradient_accumulation_steps",
    "learning_rate", "num_train_epochs", "max_steps", "lr_scheduler_type", "warmup_ratio", "bf16", "pref_beta",
    "pref_loss", "reward_model", "reward_model_type", "adapter_name_or_path", "export_dir", "export_size",
    "export_device", "export_legacy_format", "infer_backend", "seed", "val_size", "eval_strategy", "eval_steps",
    "per_device_eval_batch_size", "max_new_tokens",
}
# fmt: on
SHAREGPT_TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"}


def read_rows(path: Path) -> list[Any]:
    """Rows as LLaMA-Factory reads the file: a JSON list, JSON lines, or text lines as ``{"text": line}``."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines()]
    assert path.suffix == ".txt"
    return [{"text": line} for line in text.splitlines()]


def check_alpaca(row: dict[str, Any], columns: dict[str, str], ranking: bool) -> None:
    assert isinstance(row[columns["prompt"]], str) and row[columns["prompt"]]
    if "query" in columns:
        assert isinstance(row[columns["query"]], str)
    if ranking:
        chosen, rejected = row[columns["chosen"]], row[columns["rejected"]]
        assert isinstance(chosen, str) and isinstance(rejected, str) and chosen and chosen != rejected
    elif "response" in columns:
        assert isinstance(row[columns["response"]], str) and row[columns["response"]]


def check_sharegpt(row: dict[str, Any], columns: dict[str, str], tags: dict[str, str], ranking: bool) -> None:
    """LLaMA-Factory's rule: user/observation turns at odd positions, assistant/function turns at even ones (a
    ranking row ends with the user turn; chosen and rejected answer it)."""
    messages = row[columns["messages"]]
    assert messages and len(messages) % 2 == (1 if ranking else 0)
    if ranking:
        assert row[columns["chosen"]][tags["role_tag"]] == row[columns["rejected"]][tags["role_tag"]] == "assistant"
    odd = {tags["user_tag"], tags.get("observation_tag", "observation")}
    even = {tags["assistant_tag"], tags.get("function_tag", "function_call")}
    for i, message in enumerate(messages):
        assert message[tags["role_tag"]] in (odd if i % 2 == 0 else even), (i, message)
        assert isinstance(message[tags["content_tag"]], str) and message[tags["content_tag"]]
        if message[tags["role_tag"]] == "function_call":
            assert set(json.loads(message[tags["content_tag"]])) == {"name", "arguments"}
    if "system" in columns:
        assert isinstance(row[columns["system"]], str)
    if "tools" in columns and row[columns["tools"]]:
        assert isinstance(json.loads(row[columns["tools"]]), list)
    if "kto_tag" in columns:
        assert isinstance(row[columns["kto_tag"]], bool)


def test_layout(demo_workspace: Path) -> None:
    names = demo_config_names()
    assert {p.stem for p in (demo_workspace / "configs").glob("*.yaml")} == set(names)
    assert {"sft_lora", "sft_full", "sft_freeze", "pt_lora", "rm_lora", "dpo_lora", "kto_lora", "ppo_lora"} < set(
        names
    )
    assert {"merge_lora", "chat"} < set(names)
    assert (demo_workspace / "models" / DEMO_MODEL_DIRNAME / "model.safetensors").is_file()
    assert (demo_workspace / "README.md").read_text().startswith("# lmf workbench demo workspace")
    assert not list(demo_workspace.rglob("*.tmp")) and not list((demo_workspace / "models").glob(".*"))


def test_every_dataset_is_valid_in_its_declared_format(demo_workspace: Path) -> None:
    registry = json.loads((demo_workspace / "data" / "dataset_info.json").read_text())
    assert set(registry) == DATASETS
    for name, info in registry.items():
        rows = read_rows(demo_workspace / "data" / info["file_name"])
        media = {"videos", "audios"} & set(info["columns"])
        least = 3 if media else 20 if "images" in info["columns"] else 40
        assert least <= len(rows) <= 200, name
        columns = info["columns"]
        if info.get("formatting", "alpaca") == "alpaca":
            for row in rows:
                check_alpaca(row, columns, ranking=info.get("ranking", False))
        else:
            assert info["formatting"] == "sharegpt"
            for row in rows:
                check_sharegpt(row, columns, {**SHAREGPT_TAGS, **info.get("tags", {})}, info.get("ranking", False))
    kto = read_rows(demo_workspace / "data" / registry["demo_kto"]["file_name"])
    assert 0.3 < sum(row["kto_tag"] for row in kto) / len(kto) < 0.7
    identity = (demo_workspace / "data" / registry["demo_identity"]["file_name"]).read_text()
    assert "{{name}}" in identity and "{{author}}" in identity


def test_configs_use_lf_keys_and_point_at_workspace_files(demo_workspace: Path) -> None:
    registry = json.loads((demo_workspace / "data" / "dataset_info.json").read_text())
    used: set[str] = set()
    for name in demo_config_names():
        path = demo_workspace / "configs" / f"{name}.yaml"
        text = path.read_text()
        assert text.startswith("# ") and len(text.splitlines()[0]) > 10, name
        config = yaml.safe_load(text)
        assert set(config) <= LF_KEYS, (name, set(config) - LF_KEYS)
        assert (demo_workspace / config["model_name_or_path"] / "config.json").is_file()
        assert (
            config.get("template", "qwen") in ("qwen", "qwen2_vl", "qwen3_vl_nothink", "llava", "qwen2_audio")
            and config.get("bf16", False) is False
        )
        if config.get("do_train"):
            assert config["output_dir"] == f"runs/{name}" and config["dataset_dir"] == "data"
            assert config["cutoff_len"] == 256 and config["report_to"] == "none" and config["logging_steps"] == 1
            assert isinstance(config["learning_rate"], float) and config["max_steps"] <= 20
            datasets = config["dataset"].split(",")
            assert set(datasets) <= set(registry), name
            used.update(datasets)
    assert used == DATASETS
    assert yaml.safe_load((demo_workspace / "configs" / "ppo_lora.yaml").read_text())["reward_model"] == "runs/rm_lora"


def test_demo_rows_render_with_the_tiny_models_template(demo_workspace: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(demo_workspace / "models" / DEMO_MODEL_DIRNAME)
    row = json.loads((demo_workspace / "data" / "demo_sft.json").read_text())[0]
    messages = [{"role": "user", "content": row["instruction"]}, {"role": "assistant", "content": row["output"]}]
    ids = tokenizer.apply_chat_template(messages, return_dict=True)["input_ids"]
    assert tokenizer.decode(ids).endswith(f"{row['output']}<|im_end|>\n")
    assert len(ids) < 256


def test_existing_workspace_is_refused_without_force(demo_workspace: Path, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "data").mkdir(parents=True)
    (root / "data" / "dataset_info.json").write_text('{"mine": {"file_name": "mine.json"}}')
    with pytest.raises(FileExistsError, match=r"data/dataset_info\.json.*force"):
        init_demo_workspace(root)
    assert sorted(p.name for p in root.rglob("*")) == ["data", "dataset_info.json"]

    with pytest.raises(FileExistsError):
        init_demo_workspace(demo_workspace)


def test_force_rewrites_demo_files_and_keeps_the_users(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "data").mkdir(parents=True)
    (root / "configs").mkdir()
    (root / "data" / "dataset_info.json").write_text('{"mine": {"file_name": "mine.json"}, "demo_sft": {}}')
    (root / "data" / "demo_sft.json").write_text("[]")
    (root / "configs" / "my.yaml").write_text("stage: sft\n")
    (root / "README.md").write_text("# my project\n")
    (root / "models" / DEMO_MODEL_DIRNAME).mkdir(parents=True)
    (root / "models" / DEMO_MODEL_DIRNAME / "stale.bin").write_text("old")

    assert init_demo_workspace(root, force=True) == root.resolve()
    registry = json.loads((root / "data" / "dataset_info.json").read_text())
    assert registry["mine"] == {"file_name": "mine.json"} and set(registry) == DATASETS | {"mine"}
    assert registry["demo_sft"]["file_name"] == "demo_sft.json"
    assert len(json.loads((root / "data" / "demo_sft.json").read_text())) >= 40
    assert (root / "configs" / "my.yaml").read_text() == "stage: sft\n"
    assert (root / "README.md").read_text() == "# my project\n"
    assert not (root / "models" / DEMO_MODEL_DIRNAME / "stale.bin").exists()
    assert (root / "models" / DEMO_MODEL_DIRNAME / "tokenizer.json").is_file()


def test_force_refuses_to_replace_a_broken_registry(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "data").mkdir(parents=True)
    (root / "data" / "dataset_info.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        init_demo_workspace(root, force=True)
    assert (root / "data" / "dataset_info.json").read_text() == "{not json"
    assert not (root / "models").exists()
