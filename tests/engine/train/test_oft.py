"""``finetuning_type: oft``: what reaches peft's OFTConfig, quantized bases, the config rules, merging on export."""

from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from typer.testing import CliRunner

from lmf_engine.config import ConfigError, check_config, load_config
from lmf_engine.model.errors import ModelLoadError

PROMPT = [[5, 17, 42, 99, 3, 250, 7, 64]]


def _config(model_dir: Path, **values: Any) -> Any:
    return load_config(values={"model_name_or_path": str(model_dir), "finetuning_type": "oft", **values})


def _load(model_dir: Path, is_trainable: bool = True, **values: Any) -> Any:
    from lmf_engine.model.loader import load_model
    from lmf_engine.model.tokenizer import load_tokenizer

    config = _config(model_dir, **values)
    return load_model(config, load_tokenizer(config), is_trainable=is_trainable)


def test_oft_keys_reach_peft_on_lora_targets(tiny_model_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    model = _load(
        tiny_model_dir, oft_block_size=16, module_dropout=0.1, lora_target="q_proj,v_proj", oft_target="q_proj"
    )
    settings = model.peft_config["default"]
    assert type(settings).__name__ == "OFTConfig"
    assert (settings.r, settings.oft_block_size, settings.module_dropout) == (0, 16, 0.1)
    assert set(settings.target_modules) == {"q_proj", "v_proj"}
    trainable = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("oft_R" in name and p.dtype == torch.float32 for name, p in trainable)
    assert {name.split(".oft_R")[0].rsplit(".", 1)[-1] for name, _ in trainable} == {"q_proj", "v_proj"}
    assert "oft_target (q_proj) is not used" in caplog.text


def test_oft_rank_instead_of_block_size_and_all_targets(tiny_model_dir: Path) -> None:
    settings = _load(tiny_model_dir, oft_rank=4, oft_block_size=0).peft_config["default"]
    assert (settings.r, settings.oft_block_size) == (4, 0)
    assert len(settings.target_modules) == 7


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("finetuning_type: oft\noft_rank: 4", "oft_rank", "exactly one of oft_rank and oft_block_size"),
        ("finetuning_type: oft\noft_block_size: 0", "oft_block_size", "exactly one of oft_rank and oft_block_size"),
        ("finetuning_type: oft\nuse_dora: true", "use_dora", "use_dora is only for finetuning_type: lora"),
        ("finetuning_type: oft\nloraplus_lr_ratio: 16", "loraplus_lr_ratio", "only for finetuning_type: lora"),
        ("finetuning_type: full\nquantization_bit: 4", "quantization_bit", "lora (QLoRA) or oft (QOFT)"),
    ],
)
def test_oft_rules(tmp_path: Path, text: str, key: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    _, issues = check_config(path)
    assert any(i.key == key and message in i.message for i in issues), issues


def test_oft_configs_of_llama_factory_validate(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "finetuning_type: oft\noft_block_size: 32\noft_target: all\nmodule_dropout: 0.1\nquantization_bit: 4\n"
        "adapter_name_or_path: saves/oft\n",
        encoding="utf-8",
    )
    _, issues = check_config(path)
    assert issues == []
    with pytest.raises(ConfigError, match="adapters can only be loaded with finetuning_type: lora or oft"):
        load_config(values={"finetuning_type": "full", "adapter_name_or_path": "saves/oft"})


def _bnb_model(model_dir: Path) -> Any:
    """The tiny model with bitsandbytes 4- and 8-bit layers in place of two projections, marked as quantized
    (what ``quantization_bit`` loads on a GPU; the layers are built on the CPU and never run)."""
    bnb = pytest.importorskip("bitsandbytes")
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    attn = model.model.layers[0].self_attn
    attn.q_proj = bnb.nn.Linear4bit(64, 64, bias=True, compute_dtype=torch.float32)
    attn.o_proj = bnb.nn.Linear8bitLt(64, 64, bias=False, has_fp16_weights=False)
    model.quantization_method = "bitsandbytes"
    return model


def test_oft_wraps_bitsandbytes_layers_of_a_quantized_model(tiny_model_dir: Path) -> None:
    from lmf_engine.model.adapters import init_adapter

    config = _config(tiny_model_dir, oft_block_size=16, lora_target="q_proj,o_proj", quantization_bit=4)
    model = init_adapter(_bnb_model(tiny_model_dir), config, is_trainable=True)
    attn = model.base_model.model.model.layers[0].self_attn
    assert type(attn.q_proj.get_base_layer()).__name__ == "Linear4bit"
    assert type(attn.o_proj.get_base_layer()).__name__ == "Linear8bitLt"
    assert type(attn.q_proj.quantization_backend).__name__ == "Bnb4bitBackend"
    assert attn.q_proj.oft_R["default"].weight.requires_grad
    with pytest.raises(ModelLoadError, match="trains with lora or oft only, not full"):
        init_adapter(_bnb_model(tiny_model_dir), _config(tiny_model_dir, finetuning_type="full"), is_trainable=True)


@pytest.fixture(scope="module")
def oft_run(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder as an OFT training leaves it: config.yaml and an OFT adapter whose rotations are not identity."""
    from peft import OFTConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    run = tmp_path_factory.mktemp("oft") / "run"
    torch.manual_seed(0)
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(tiny_model_dir),
        OFTConfig(r=0, oft_block_size=16, target_modules=["q_proj", "v_proj", "down_proj"]),
    )
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "oft_R" in name:
                param.normal_(0.0, 0.3)
    model.save_pretrained(run)
    config = {"model_name_or_path": str(tiny_model_dir), "finetuning_type": "oft", "do_train": True}
    config.update(template="qwen", oft_block_size=16, stage="sft")
    (run / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return run


def _logits(model: Any) -> torch.Tensor:
    with torch.no_grad():
        return model.float().eval()(input_ids=torch.tensor(PROMPT)).logits


def test_oft_run_merges_on_export_with_the_logits_of_base_plus_adapter(
    tiny_model_dir: Path, oft_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from lmf_engine.cli.main import app
    from lmf_engine.runs.inference import inference_values

    values = inference_values(oft_run)
    assert values["finetuning_type"] == "oft" and values["adapter_name_or_path"] == str(oft_run)
    values.update(export_dir=str(tmp_path / "merged"), infer_dtype="float32")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "export.yaml").write_text(yaml.safe_dump(values), encoding="utf-8")
    result = CliRunner().invoke(app, ["export", str(tmp_path / "export.yaml")])
    assert result.exit_code == 0, result.output
    unmerged = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), oft_run)
    expected = _logits(unmerged)
    assert not torch.allclose(expected, _logits(AutoModelForCausalLM.from_pretrained(tiny_model_dir)), atol=1e-3)
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged")
    assert not any("oft" in name for name, _ in merged.named_parameters())
    assert torch.allclose(_logits(merged), expected, atol=1e-4)


def test_vllm_refuses_to_serve_an_oft_adapter(tiny_model_dir: Path, oft_run: Path) -> None:
    from lmf_engine.model.vllm_args import VllmSetupError, lora_request_args

    config = load_config(values={"model_name_or_path": str(tiny_model_dir), "adapter_name_or_path": str(oft_run)})
    with pytest.raises(VllmSetupError, match=r"vLLM serves LoRA adapters only, and .* is OFT; merge it"):
        lora_request_args(config)
