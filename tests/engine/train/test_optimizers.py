"""The optimizers on their own: Muon's arithmetic, layer-wise stepping and its schedule, which optimizer wins,
and the errors raised before training (their losses against LLaMA-Factory's are in test_methods_vs_lf.py)."""

from pathlib import Path
from typing import Any

import pytest
import torch

from lmf_engine.config import load_config
from lmf_engine.config.optimizer_extras import OptimizerPackageMissing


def _args(tmp_path: Path, **kwargs: Any) -> Any:
    from transformers import TrainingArguments

    return TrainingArguments(output_dir=str(tmp_path), report_to="none", use_cpu=True, **kwargs)


def test_newton_schulz_orthogonalises_wide_and_tall_matrices() -> None:
    from lmf_engine.train.muon import orthogonalize

    torch.manual_seed(0)
    for shape in ((8, 32), (32, 8)):
        out = orthogonalize(torch.randn(shape), steps=5)
        assert out.shape == shape and out.dtype == torch.bfloat16
        singular = torch.linalg.svdvals(out.float())
        assert singular.min() > 0.5 and singular.max() < 1.5


def test_muon_updates_matrices_by_momentum_and_the_rest_by_adamw() -> None:
    from lmf_engine.train.muon import Muon, muon_lr

    matrix, vector = torch.nn.Parameter(torch.ones(4, 16)), torch.nn.Parameter(torch.ones(16))
    optimizer = Muon([matrix], [vector], lr=0.1, weight_decay=0.5)
    matrix.grad, vector.grad = torch.zeros(4, 16), torch.full((16,), 2.0)
    optimizer.step()
    assert set(optimizer.state[matrix]) == {"momentum_buffer"}
    assert set(optimizer.state[vector]) == {"step", "exp_avg", "exp_avg_sq"}
    # A zero gradient leaves only the decoupled weight decay; AdamW's first step moves by lr (bias-corrected).
    assert torch.allclose(matrix, torch.full((4, 16), 0.95))
    assert torch.allclose(vector, torch.full((16,), 0.95 - 0.1), atol=1e-6)
    assert muon_lr(0.1, torch.Size([4, 16])) == pytest.approx(0.1 * 0.2 * 4)
    with pytest.raises(ValueError, match="2-D weights only"):
        Muon([vector], [], lr=0.1)


def test_layerwise_steps_each_parameter_during_backward_on_the_schedule(tmp_path: Path) -> None:
    """The per-parameter optimizers follow the run's schedule: the first step is at warm-up's zero learning rate."""
    from lmf_engine.train.layerwise import LayerwiseOptimizer
    from lmf_engine.train.optimizers import attach_layerwise_schedulers

    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 1))
    inner = {param: torch.optim.SGD([param], lr=0.1) for param in model.parameters()}
    optimizer = LayerwiseOptimizer(0.1, inner)
    attach_layerwise_schedulers(optimizer, _args(tmp_path, lr_scheduler_type="linear", warmup_steps=2), 10)
    before = [param.detach().clone() for param in model.parameters()]

    model(torch.ones(2, 4)).sum().backward()
    assert all(param.grad is None for param in model.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert [opt.param_groups[0]["lr"] for opt in inner.values()] == pytest.approx([0.05] * 4)

    model(torch.ones(2, 4)).sum().backward()
    assert not any(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    optimizer.step()
    optimizer.zero_grad()
    assert [opt.param_groups[0]["lr"] for opt in inner.values()] == pytest.approx([0.1] * 4)


@pytest.mark.parametrize(
    ("values", "chosen"),
    [
        ({"use_adam_mini": True, "use_muon": True}, "use_adam_mini"),
        ({"loraplus_lr_ratio": 16, "use_muon": True}, "loraplus_lr_ratio"),
        ({"finetuning_type": "full", "use_badam": True, "use_muon": True}, "use_badam"),
        ({}, None),
    ],
)
def test_llamafactory_precedence(values: dict[str, Any], chosen: str | None) -> None:
    from lmf_engine.train.optimizers import chosen_optimizer

    assert chosen_optimizer(load_config(values=values)) == chosen


def test_distributed_problems() -> None:
    from lmf_engine.train.optimizers import distributed_problem

    def problem(zero3: bool = False, **values: Any) -> str | None:
        return distributed_problem(load_config(values={"finetuning_type": "full", **values}), zero3)

    assert "galore_layerwise" in str(problem(use_galore=True, galore_layerwise=True))
    assert problem(use_galore=True) is None
    assert "badam_mode: ratio" in str(problem(use_badam=True, badam_mode="ratio", optim="adamw_torch"))
    assert "ZeRO-3" in str(problem(use_badam=True))
    assert problem(zero3=True, use_badam=True) is None


def _full_model(model_dir: Path, **values: Any) -> tuple[Any, Any]:
    from lmf_engine.model.loader import load_model
    from lmf_engine.model.tokenizer import load_tokenizer

    config = load_config(values={"model_name_or_path": str(model_dir), "finetuning_type": "full", **values})
    return config, load_model(config, load_tokenizer(config), is_trainable=True)


def test_galore_projects_the_linear_weights(tiny_model_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("galore_torch")
    from lmf_engine.train.optimizers import custom_optimizer

    config, model = _full_model(tiny_model_dir, use_galore=True, galore_rank=4, galore_target="q_proj,down_proj")
    optimizer = custom_optimizer(model, _args(tmp_path, optim="adamw_torch", learning_rate=1e-3), config)
    projected = [g for g in optimizer.param_groups if "rank" in g]
    assert len(projected) == 1 and projected[0]["rank"] == 4
    assert len(projected[0]["params"]) == 2 * 2  # two layers, q_proj and down_proj
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(list(model.parameters()))


def test_badam_ratio_refuses_a_tied_output_head(tiny_model_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("badam")
    from lmf_engine.train.optimizers import badam_optimizer

    config, model = _full_model(tiny_model_dir, use_badam=True, badam_mode="ratio", optim="adamw_torch")
    with pytest.raises(ValueError, match="ties its output head to the embedding; use badam_mode: layer"):
        badam_optimizer(model, _args(tmp_path, optim="adamw_torch"), config)


def test_building_without_the_package_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path, tmp_path: Path
) -> None:
    from lmf_engine.train import optimizers

    monkeypatch.setattr(optimizers, "installed", lambda module: False)
    config, model = _full_model(tiny_model_dir, use_adam_mini=True)
    with pytest.raises(OptimizerPackageMissing, match=r"^use_adam_mini needs the adam-mini package: pip install"):
        optimizers.custom_optimizer(model, _args(tmp_path), config)
