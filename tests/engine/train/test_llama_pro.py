"""LLaMA Pro: ``lmf-engine llama-pro`` writes a block-expanded model that computes what the original computes, and
``use_llama_pro`` trains only the expanded blocks (freeze tuning, or adapters on them)."""

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

from lmf_engine.cli.main import app
from lmf_engine.config import check_config, load_config
from lmf_engine.model.errors import ModelLoadError

PROMPT = torch.tensor([[5, 17, 42, 99, 3, 250, 7, 64]])


@pytest.fixture(scope="module")
def pro_model(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny 2-layer model expanded by 2 blocks with the command."""
    output = tmp_path_factory.mktemp("llama-pro") / "tiny-pro"
    result = CliRunner().invoke(app, ["llama-pro", str(tiny_model_dir), str(output), "--num-expand", "2", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["num_hidden_layers"] == 4
    assert summary["expanded_layers"] == [1, 3]
    return output


def _causal_lm(path: Path) -> Any:
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path).eval()


def test_expanded_model_computes_what_the_original_computes(tiny_model_dir: Path, pro_model: Path) -> None:
    original, expanded = _causal_lm(tiny_model_dir), _causal_lm(pro_model)
    config = json.loads((pro_model / "config.json").read_text(encoding="utf-8"))
    assert config["num_hidden_layers"] == 4
    assert len(config["layer_types"]) == 4
    assert (pro_model / "tokenizer.json").is_file()
    with torch.no_grad():
        want, got = original(PROMPT).logits, expanded(PROMPT).logits
    assert torch.allclose(want, got, atol=1e-5)
    assert [layer.self_attn.layer_idx for layer in expanded.model.layers] == [0, 1, 2, 3]


def test_new_blocks_copy_their_layer_with_zero_output_projections(tiny_model_dir: Path, pro_model: Path) -> None:
    original = dict(_causal_lm(tiny_model_dir).named_parameters())
    for name, param in _causal_lm(pro_model).named_parameters():
        if ".layers." not in name:
            assert torch.equal(param, original[name]), name
            continue
        index = int(name.split(".layers.")[1].split(".")[0])
        source = name.replace(f".layers.{index}.", f".layers.{index // 2}.")
        if index % 2 and ("o_proj" in name or "down_proj" in name):
            assert not param.any(), name
        else:
            assert torch.equal(param, original[source]), name


def test_num_expand_must_divide_the_layers(tiny_model_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["llama-pro", str(tiny_model_dir), str(tmp_path / "out"), "--num-expand", "3"])
    assert result.exit_code == 2
    assert "--num-expand 3 must divide the model's 2 layers" in result.output
    assert not (tmp_path / "out").exists()


def _trainable(model_dir: Path, **values: Any) -> tuple[set[str], Any]:
    """(trainable, all) parameter names of the model loaded to train with ``values``."""
    from lmf_engine.model.loader import load_model
    from lmf_engine.model.tokenizer import load_tokenizer

    config = load_config(values={"model_name_or_path": str(model_dir), "use_llama_pro": True, **values})
    model = load_model(config, load_tokenizer(config), is_trainable=True)
    return {name for name, param in model.named_parameters() if param.requires_grad}, dict(
        model.named_parameters()
    ).keys()


def test_freeze_tuning_trains_only_the_expanded_blocks(pro_model: Path) -> None:
    trainable, names = _trainable(pro_model, finetuning_type="freeze", freeze_trainable_layers=2)
    assert trainable == {name for name in names if ".layers.1." in name or ".layers.3." in name}


def test_lora_goes_only_on_the_expanded_blocks(pro_model: Path) -> None:
    trainable, _ = _trainable(
        pro_model, finetuning_type="lora", freeze_trainable_layers=2, lora_target="q_proj,down_proj"
    )
    assert {name.split(".lora_")[0].split("layers.")[1] for name in trainable} == {
        "1.self_attn.q_proj",
        "1.mlp.down_proj",
        "3.self_attn.q_proj",
        "3.mlp.down_proj",
    }


def test_the_number_of_expanded_blocks_must_divide_the_layers(pro_model: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"freeze_trainable_layers: .* must divide the model's 4 layers; 3"):
        _trainable(pro_model, finetuning_type="freeze", freeze_trainable_layers=3)


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("use_llama_pro: true\nfinetuning_type: full", "use_llama_pro", "needs finetuning_type freeze, lora or oft"),
        (
            "use_llama_pro: true\nfinetuning_type: freeze\nfreeze_trainable_layers: -2",
            "freeze_trainable_layers",
            "number of expanded blocks and must be above 0",
        ),
    ],
)
def test_llama_pro_rules(tmp_path: Path, text: str, key: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text + "\n")
    _, issues = check_config(path)
    assert [(issue.key, message in issue.message) for issue in issues] == [(key, True)], [str(i) for i in issues]
