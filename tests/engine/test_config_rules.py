"""Rules across keys, as LLaMA-Factory enforces them, reported at the line of the offending key."""

from pathlib import Path

import pytest

from lmf_engine.config import check_config

CASES = [
    ("mask_history: true\ntrain_on_prompt: true", "mask_history", "cannot be used with train_on_prompt"),
    ("dataset: a\nval_size: 0.1\neval_dataset: b", "val_size", "either val_size or eval_dataset"),
    ("val_size: 0.1", "val_size", "needs a dataset"),
    ("dataset: a\nval_size: 2.5", "val_size", "whole number of rows"),
    ("dataset: a,b\ninterleave_probs: 0.5,0.5", "interleave_probs", "needs an interleave_* mix_strategy"),
    (
        "dataset: a,b\nmix_strategy: interleave_under\ninterleave_probs: 1.0",
        "interleave_probs",
        "one probability per dataset",
    ),
    ("dataset: a,b\nmix_strategy: interleave_under\ninterleave_probs: 0.5,0.6", "interleave_probs", "add up to 1"),
    (
        "dataset: a\nmix_strategy: interleave_under\ninterleave_probs: x",
        "interleave_probs",
        "numbers separated by commas",
    ),
    ("dataset: a\nstreaming: true\nmax_samples: 10", "max_samples", "cannot be used with streaming"),
    ("cutoff_len: 1\npacking: true", "cutoff_len", "packing needs cutoff_len of at least 2"),
    ("dataset: a\nstreaming: true\nval_size: 0.1", "val_size", "whole number of rows"),
    ("dataset: a\ndo_train: true\nstreaming: true", "streaming", "needs max_steps"),
    ("stage: dpo\npredict_with_generate: true", "predict_with_generate", "only for stage sft"),
    ("stage: rm\nneat_packing: true", "neat_packing", "only for stage sft"),
    ("stage: pt\ntrain_on_prompt: true", "train_on_prompt", "only for stage sft"),
    ("do_predict: true", "do_predict", "needs predict_with_generate"),
    ("stage: rm\nload_best_model_at_end: true", "load_best_model_at_end", "does not support"),
    ("stage: ppo\ndo_train: true\ndataset: a", "stage", "needs a reward_model"),
    (
        "stage: ppo\ndo_train: true\ndataset: a\nreward_model: r\nfinetuning_type: full",
        "finetuning_type",
        "needs finetuning_type: lora",
    ),
    ("stage: ppo\nreward_model: r\nreward_model_type: full", "stage", "only trains"),
    (
        "stage: dpo\npref_loss: ipo\ndpo_label_smoothing: 0.1",
        "dpo_label_smoothing",
        "only works with pref_loss: sigmoid",
    ),
    ("do_train: true", "do_train", "training needs a dataset"),
    ("eval_strategy: steps", "eval_strategy", "needs eval_dataset or val_size"),
    (
        "finetuning_type: full\nadapter_name_or_path: a",
        "adapter_name_or_path",
        "only be loaded with finetuning_type: lora",
    ),
    ("finetuning_type: freeze\nquantization_bit: 4", "quantization_bit", "needs finetuning_type: lora"),
    ("quantization_bit: 4\npissa_init: true", "pissa_init", "PiSSA"),
    ("quantization_bit: 8\nresize_vocab: true", "resize_vocab", "cannot be resized"),
    ("quantization_bit: 4\nadapter_name_or_path: a,b", "adapter_name_or_path", "one adapter"),
    ("quantization_bit: 4\nadapter_name_or_path: a\ncreate_new_adapter: true", "create_new_adapter", "new adapter"),
    ("do_train: true\ndataset: a\nquantization_device_map: auto", "quantization_device_map", "device map"),
    ("bf16: true\nfp16: true", "bf16", "not both"),
    ("pure_bf16: true\nbf16: true", "pure_bf16", "replaces mixed precision"),
    ("infer_backend: vllm\nquantization_bit: 4", "infer_backend", "bitsandbytes"),
    ("predict_with_generate: true\ncompute_accuracy: true", "predict_with_generate", "compute_accuracy"),
    # the optimizers (LLaMA-Factory's rules, and settings it or the package would crash on)
    ("use_galore: true", "use_galore", "use finetuning_type full or freeze"),
    ("finetuning_type: full\nuse_galore: true\nuse_badam: true", "use_galore", "not use_galore and use_badam"),
    ("finetuning_type: full\nuse_galore: true\noptim: adamw_torch_fused", "use_galore", "works with optim"),
    ("finetuning_type: full\nuse_apollo: true\noptim: adafactor", "use_apollo", "works with optim adamw_torch"),
    ("finetuning_type: full\nuse_galore: true\ndeepspeed: ds.json", "use_galore", "cannot be used with DeepSpeed"),
    (
        "finetuning_type: full\nuse_apollo: true\napollo_layerwise: true\ngradient_accumulation_steps: 4",
        "apollo_layerwise",
        "needs gradient_accumulation_steps: 1",
    ),
    (
        "finetuning_type: full\nuse_badam: true\nbadam_mode: ratio\nbadam_update_ratio: 0",
        "badam_update_ratio",
        "above 0",
    ),
    (
        "finetuning_type: full\nuse_badam: true\nbadam_mode: ratio\noptim: adafactor",
        "badam_mode",
        "set optim adamw_torch",
    ),
    ("finetuning_type: full\nuse_badam: true\nbadam_switch_mode: null", "badam_switch_mode", "layer mode needs"),
]


@pytest.mark.parametrize(("text", "key", "message"), CASES, ids=[c[1] + ":" + c[2][:20] for c in CASES])
def test_rule(tmp_path: Path, text: str, key: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text + "\n")
    _, issues = check_config(path)
    assert len(issues) == 1, [str(i) for i in issues]
    assert issues[0].key == key
    assert message in issues[0].message
    assert issues[0].line == text.split("\n").index(next(ln for ln in text.split("\n") if ln.startswith(key))) + 1


def test_rule_reported_at_override_when_key_came_from_command_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("train_on_prompt: true\n")
    _, issues = check_config(path, ["mask_history=true"])
    assert [str(i) for i in issues] == [
        "<command line, argument 1>: mask_history: mask_history cannot be used with train_on_prompt"
    ]


def test_rule_is_skipped_when_a_key_is_already_invalid(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("mask_history: perhaps\ntrain_on_prompt: true\n")
    _, issues = check_config(path)
    assert [i.key for i in issues] == ["mask_history"]


def test_valid_combinations_pass(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "stage: dpo\ndo_train: true\ndataset: a,b\nmix_strategy: interleave_over\ninterleave_probs: 0.3,0.7\n"
        "val_size: 0.1\neval_strategy: steps\nquantization_bit: 4\nfinetuning_type: lora\npref_loss: sigmoid\n"
        "dpo_label_smoothing: 0.1\n"
    )
    _, issues = check_config(path)
    assert issues == []
