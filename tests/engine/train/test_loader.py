"""load_model on the tiny model: dtype, attention, LoRA targets and flags, freeze tuning, adapters, errors."""

import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from lmf_engine.config import load_config
from lmf_engine.model.errors import ModelLoadError


def _config(model_dir: Path, **values: Any) -> Any:
    return load_config(values={"model_name_or_path": str(model_dir), **values})


def _load(model_dir: Path, is_trainable: bool = True, **values: Any) -> Any:
    from lmf_engine.model.loader import load_model
    from lmf_engine.model.tokenizer import load_tokenizer

    config = _config(model_dir, **values)
    return load_model(config, load_tokenizer(config), is_trainable=is_trainable)


def _trainable(model: Any) -> set[str]:
    return {name for name, param in model.named_parameters() if param.requires_grad}


def test_cpu_loads_float32_whatever_the_precision_keys(tiny_model_dir: Path) -> None:
    import torch

    model = _load(tiny_model_dir, finetuning_type="full", bf16=True)
    assert {param.dtype for param in model.parameters()} == {torch.float32}
    model = _load(tiny_model_dir, is_trainable=False, infer_dtype="bfloat16")
    assert {param.dtype for param in model.parameters()} == {torch.float32}
    assert not model.training
    assert not _trainable(model)


@pytest.mark.parametrize(("flash_attn", "expected"), [("disabled", "eager"), ("sdpa", "sdpa")])
def test_attention_implementation(tiny_model_dir: Path, flash_attn: str, expected: str) -> None:
    model = _load(tiny_model_dir, is_trainable=False, flash_attn=flash_attn)
    assert model.config._attn_implementation == expected


def test_flash_attention_without_the_package_is_a_clear_error(tiny_model_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"flash_attn: fa2 needs the flash-attn package"):
        _load(tiny_model_dir, flash_attn="fa2")


def test_quantization_needs_a_gpu(tiny_model_dir: Path) -> None:
    with pytest.raises(
        ModelLoadError, match=r"quantization_bit: 4-bit quantization \(bitsandbytes\) needs a CUDA GPU"
    ):
        _load(tiny_model_dir, quantization_bit=4)


def test_lora_target_all_finds_every_linear_layer_but_the_head(tiny_model_dir: Path) -> None:
    from lmf_engine.model.adapters import find_all_linear_modules

    model = _load(tiny_model_dir, finetuning_type="full")
    assert find_all_linear_modules(model) == [
        "down_proj",
        "gate_proj",
        "k_proj",
        "o_proj",
        "q_proj",
        "up_proj",
        "v_proj",
    ]
    lora = _load(tiny_model_dir, lora_target="all")
    peft_config = lora.peft_config["default"]
    assert set(peft_config.target_modules) == set(find_all_linear_modules(model))
    assert peft_config.r == 8 and peft_config.lora_alpha == 16
    trainable = _trainable(lora)
    assert trainable and all("lora_" in name for name in trainable)
    assert not any("lm_head" in name for name in trainable)


def test_named_lora_targets_and_flags_reach_peft(tiny_model_dir: Path) -> None:
    model = _load(
        tiny_model_dir,
        lora_target="q_proj,v_proj",
        lora_rank=4,
        lora_alpha=32,
        lora_dropout=0.1,
        use_dora=True,
        use_rslora=True,
        pissa_init=True,
        pissa_iter=2,
        additional_target="embed_tokens",
    )
    peft_config = model.peft_config["default"]
    assert set(peft_config.target_modules) == {"q_proj", "v_proj"}
    assert (peft_config.r, peft_config.lora_alpha, peft_config.lora_dropout) == (4, 32, 0.1)
    assert peft_config.use_dora and peft_config.use_rslora
    assert peft_config.init_lora_weights == "pissa_niter_2"
    assert peft_config.modules_to_save == ["embed_tokens"]
    assert any("lora_magnitude_vector" in name for name in _trainable(model))


def test_unknown_lora_target_is_a_clear_error(tiny_model_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"lora_target: .*nope"):
        _load(tiny_model_dir, lora_target="nope")


@pytest.mark.parametrize(
    ("values", "layers"),
    [({"freeze_trainable_layers": 1}, {"1"}), ({"freeze_trainable_layers": -1}, {"0"}), ({}, {"0", "1"})],
)
def test_freeze_trains_the_chosen_layers(tiny_model_dir: Path, values: dict[str, Any], layers: set[str]) -> None:
    model = _load(tiny_model_dir, finetuning_type="freeze", **values)
    trainable = _trainable(model)
    assert {name.split(".")[2] for name in trainable} == layers
    assert all(name.startswith("model.layers.") for name in trainable)


def test_freeze_modules_and_extra_modules(tiny_model_dir: Path) -> None:
    model = _load(
        tiny_model_dir,
        finetuning_type="freeze",
        freeze_trainable_layers=1,
        freeze_trainable_modules="mlp",
        freeze_extra_modules="embed_tokens",
    )
    trainable = _trainable(model)
    assert "model.embed_tokens.weight" in trainable
    assert all(".1.mlp." in name for name in trainable - {"model.embed_tokens.weight"})
    with pytest.raises(ModelLoadError, match=r"freeze_trainable_modules: no module 'attn'.*choose from"):
        _load(tiny_model_dir, finetuning_type="freeze", freeze_trainable_modules="attn")
    with pytest.raises(ModelLoadError, match=r"freeze_extra_modules: no module 'wte'"):
        _load(tiny_model_dir, finetuning_type="freeze", freeze_extra_modules="wte")


def test_gradient_checkpointing_follows_the_config(tiny_model_dir: Path) -> None:
    assert _load(tiny_model_dir, finetuning_type="full").model.gradient_checkpointing
    off = _load(tiny_model_dir, finetuning_type="full", disable_gradient_checkpointing=True)
    assert not off.model.gradient_checkpointing


def test_added_tokens_resize_embeddings_and_train_them(tiny_model_dir: Path) -> None:
    model = _load(tiny_model_dir, add_special_tokens="<|a|>,<|b|>")
    rows = model.get_input_embeddings().weight.shape[0]
    assert rows % 64 == 0 and rows > 512
    assert set(model.peft_config["default"].modules_to_save) == {"embed_tokens", "lm_head"}


def test_rope_scaling_sets_the_factor(tiny_model_dir: Path) -> None:
    base = json.loads((tiny_model_dir / "config.json").read_text())["max_position_embeddings"]
    model = _load(tiny_model_dir, finetuning_type="full", rope_scaling="linear", cutoff_len=base * 3)
    params = getattr(model.config, "rope_parameters", None) or model.config.rope_scaling
    assert (params["rope_type"], params["factor"]) == ("linear", 3.0)
    assert model.config.max_position_embeddings == base * 3


def test_value_head_returns_one_value_per_token(tiny_model_dir: Path) -> None:
    import torch

    from lmf_engine.model.loader import load_model
    from lmf_engine.model.tokenizer import load_tokenizer

    config = _config(tiny_model_dir)
    model = load_model(config, load_tokenizer(config), is_trainable=True, add_valuehead=True)
    ids = torch.tensor([[5, 6, 7, 8]])
    logits, _, values = model(input_ids=ids, attention_mask=torch.ones_like(ids))
    assert values.shape == (1, 4) and logits.shape[:2] == (1, 4)
    assert set(model.value_head_state_dict()) == {"v_head.summary.weight", "v_head.summary.bias"}


def test_missing_and_non_model_folders_are_clear_errors(tmp_path: Path) -> None:
    from lmf_engine.model.loader import load_model

    with pytest.raises(ModelLoadError, match=r"model_name_or_path: .*does not exist"):
        load_model(_config(tmp_path / "nowhere"), None, is_trainable=True)
    with pytest.raises(ModelLoadError, match=r"is not a model folder \(it has no config.json\)"):
        load_model(_config(tmp_path), None, is_trainable=False)


def _save_adapter(model_dir: Path, target: Path) -> Path:
    model = _load(model_dir, lora_target="q_proj,v_proj")
    model.save_pretrained(target)
    return target


def test_adapter_from_a_run_folder_is_merged_for_inference(tiny_model_dir: Path, tmp_path: Path) -> None:
    import torch

    run = tmp_path / "run"
    adapter = _save_adapter(tiny_model_dir, run / "checkpoint-7")
    with open(adapter / "adapter_model.safetensors", "rb"):
        pass
    from safetensors.torch import load_file, save_file

    weights = {k: torch.full_like(v, 0.05) for k, v in load_file(adapter / "adapter_model.safetensors").items()}
    save_file(weights, adapter / "adapter_model.safetensors")
    plain = _load(tiny_model_dir, is_trainable=False)
    merged = _load(tiny_model_dir, is_trainable=False, adapter_name_or_path=str(run))
    name = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(dict(plain.named_parameters())[name], dict(merged.named_parameters())[name])
    assert not hasattr(merged, "peft_config") and not merged.training


def _wider_model(model_dir: Path, target: Path) -> Path:
    """The tiny model's tokenizer with a wider random model: another base of the same family."""
    from transformers import AutoConfig, AutoModelForCausalLM

    shutil.copytree(model_dir, target)
    config = AutoConfig.from_pretrained(model_dir)
    config.hidden_size, config.intermediate_size = 96, 192
    AutoModelForCausalLM.from_config(config).save_pretrained(target)
    return target


def test_adapter_errors(tiny_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"adapter_name_or_path: .*does not exist"):
        _load(tiny_model_dir, is_trainable=False, adapter_name_or_path=str(tmp_path / "missing"))
    with pytest.raises(ModelLoadError, match=r"holds no adapter_config.json"):
        _load(tiny_model_dir, is_trainable=False, adapter_name_or_path=str(tmp_path))
    adapter = _save_adapter(_wider_model(tiny_model_dir, tmp_path / "wide"), tmp_path / "wide-adapter")
    with pytest.raises(ModelLoadError, match=r"cannot load the adapter .*size mismatch.*trained on .*wide"):
        _load(tiny_model_dir, is_trainable=False, adapter_name_or_path=str(adapter))


def test_training_continues_the_last_adapter_unless_a_new_one_is_asked_for(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    adapter = _save_adapter(tiny_model_dir, tmp_path / "adapter")
    resumed = _load(tiny_model_dir, adapter_name_or_path=str(adapter))
    assert set(resumed.peft_config["default"].target_modules) == {"q_proj", "v_proj"}
    assert _trainable(resumed) and all("lora_" in name for name in _trainable(resumed))
    fresh = _load(tiny_model_dir, adapter_name_or_path=str(adapter), create_new_adapter=True)
    assert len(fresh.peft_config["default"].target_modules) == 7


def _fake_liger(monkeypatch: pytest.MonkeyPatch, calls: list[dict[str, Any]]) -> None:
    """A stand-in ``liger_kernel`` (the real one needs triton and a GPU) that records how it was applied."""
    import sys
    import types
    from importlib.machinery import ModuleSpec

    def apply_liger_kernel_to_qwen2(
        rope: bool = True, cross_entropy: bool = False, fused_linear_cross_entropy: bool = True
    ) -> None:
        calls.append({"cross_entropy": cross_entropy, "fused_linear_cross_entropy": fused_linear_cross_entropy})

    package = types.ModuleType("liger_kernel")
    package.__spec__ = ModuleSpec("liger_kernel", None)
    kernels = types.ModuleType("liger_kernel.transformers")
    kernels.apply_liger_kernel_to_qwen2 = apply_liger_kernel_to_qwen2  # type: ignore[attr-defined]
    package.transformers = kernels  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "liger_kernel", package)
    monkeypatch.setitem(sys.modules, "liger_kernel.transformers", kernels)


@pytest.mark.parametrize(("stage", "fused"), [("sft", True), ("pt", True), ("dpo", False), ("rm", False)])
def test_liger_kernels_patch_the_model_type(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, stage: str, fused: bool
) -> None:
    from lmf_engine.model.settings import apply_liger_kernel

    calls: list[dict[str, Any]] = []
    _fake_liger(monkeypatch, calls)
    hf_config = type("HFConfig", (), {"model_type": "qwen2"})()
    apply_liger_kernel(_config(tiny_model_dir, stage=stage, enable_liger_kernel=True), hf_config, True)
    assert calls == [{"cross_entropy": not fused, "fused_linear_cross_entropy": fused}]
    apply_liger_kernel(_config(tiny_model_dir, stage=stage, enable_liger_kernel=True), hf_config, False)
    apply_liger_kernel(_config(tiny_model_dir, stage=stage), hf_config, True)
    assert len(calls) == 1


def test_liger_kernels_skip_unknown_model_types_and_need_the_package(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from lmf_engine.model.settings import apply_liger_kernel

    config = _config(tiny_model_dir, enable_liger_kernel=True)
    unknown = type("HFConfig", (), {"model_type": "mamba"})()
    if importlib.util.find_spec("liger_kernel") is None:
        with pytest.raises(ModelLoadError, match=r"enable_liger_kernel: the liger-kernel package is not installed"):
            apply_liger_kernel(config, unknown, True)
    calls: list[dict[str, Any]] = []
    _fake_liger(monkeypatch, calls)
    with caplog.at_level("WARNING"):
        apply_liger_kernel(config, unknown, True)
    assert calls == []
    assert "Liger has no kernels for model type 'mamba'" in caplog.text
