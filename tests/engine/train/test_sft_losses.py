"""DFT, EAFT and ASFT (``use_dft_loss``, ``use_eaft_loss``, ``use_asft_loss``): the formulas on small tensors, the
trainer's choice of loss, and the config rules. Training with them equals LLaMA-Factory: test_methods_vs_lf.py."""

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from lmf_engine.config import check_config, load_config
from lmf_engine.train.sft_losses import asft_loss, chosen_loss, compute_loss_func, dft_loss, eaft_loss

IGNORE = -100


def _batch(seed: int = 0) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Logits of 2 rows x 5 positions over 30 tokens; labels with a masked prompt and padding."""
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, 5, 30, generator=generator, requires_grad=True)
    labels = torch.tensor([[IGNORE, IGNORE, 4, 7, 9], [IGNORE, 2, 3, IGNORE, IGNORE]])
    return {"logits": logits}, labels


def _label_positions(labels: torch.Tensor) -> list[tuple[int, int, int]]:
    """(row, position whose logits predict it, label) for every label token."""
    return [
        (row, pos - 1, int(labels[row, pos]))
        for row in range(labels.size(0))
        for pos in range(1, labels.size(1))
        if labels[row, pos] != IGNORE
    ]


def _log_prob(logits: torch.Tensor, row: int, pos: int, token: int) -> float:
    return float(torch.log_softmax(logits[row, pos].detach().double(), dim=-1)[token])


def test_dft_weights_each_token_loss_by_its_probability() -> None:
    outputs, labels = _batch()
    terms = [
        -_log_prob(outputs["logits"], r, p, t) * math.exp(_log_prob(outputs["logits"], r, p, t))
        for r, p, t in _label_positions(labels)
    ]
    assert len(terms) == 5
    assert float(dft_loss(outputs, labels)) == pytest.approx(sum(terms) / len(terms), rel=1e-5)
    assert float(dft_loss(outputs, labels, num_items_in_batch=torch.tensor(8))) == pytest.approx(
        sum(terms) / 8, rel=1e-5
    )


def test_dft_gradient_treats_the_weight_as_a_constant() -> None:
    outputs, labels = _batch()
    dft_loss(outputs, labels).backward()
    ((row, pos, token),) = _label_positions(labels[:1, :3])
    probs = torch.softmax(outputs["logits"][row, pos].detach(), dim=-1)
    weight = float(probs[token]) / 5
    expected = probs * weight
    expected[token] -= weight
    assert torch.allclose(outputs["logits"].grad[row, pos], expected, atol=1e-6)


def test_eaft_weights_by_top20_entropy_to_the_power_alpha() -> None:
    outputs, labels = _batch(1)
    terms = []
    for r, p, t in _label_positions(labels):
        top = torch.topk(outputs["logits"][r, p].detach().double(), 20).values
        probs = torch.softmax(top, dim=-1)
        entropy = float(-(probs * probs.log()).sum())
        terms.append(-_log_prob(outputs["logits"], r, p, t) * (entropy / 3.0) ** 2.0)
    assert float(eaft_loss(outputs, labels, alpha=2.0)) == pytest.approx(sum(terms) / len(terms), rel=1e-5)


def test_asft_is_mean_dft_plus_alpha_times_kl_to_the_reference() -> None:
    outputs, labels = _batch(2)
    ref_logits = torch.randn(2, 5, 30, generator=torch.Generator().manual_seed(3))
    positions = _label_positions(labels)
    dft = sum(-_log_prob(outputs["logits"], r, p, t) * math.exp(_log_prob(outputs["logits"], r, p, t))
              for r, p, t in positions) / len(positions)  # fmt: skip
    kls = []
    for r, p, _ in positions:
        ref = torch.log_softmax(ref_logits[r, p].double(), dim=-1)
        own = torch.log_softmax(outputs["logits"][r, p].detach().double(), dim=-1)
        kls.append(float((ref.exp() * (ref - own)).sum()))
    expected = dft + 0.5 * sum(kls) / len(kls)
    assert float(asft_loss(outputs, labels, ref_logits, alpha=0.5)) == pytest.approx(expected, rel=1e-5)
    assert float(asft_loss(outputs, labels, outputs["logits"].detach(), alpha=0.5)) == pytest.approx(dft, rel=1e-5)


@pytest.mark.parametrize("loss", [dft_loss, eaft_loss])
def test_a_batch_without_labels_gives_zero_that_backpropagates(loss: Any) -> None:
    outputs, labels = _batch()
    value = loss(outputs, torch.full_like(labels, IGNORE))
    assert float(value) == 0.0
    value.backward()
    assert not outputs["logits"].grad.any()


def test_the_config_chooses_the_trainer_loss() -> None:
    outputs, labels = _batch(4)
    assert compute_loss_func(load_config()) is None
    assert compute_loss_func(load_config(overrides=["use_dft_loss=true"])) is dft_loss
    eaft = compute_loss_func(load_config(overrides=["use_eaft_loss=true", "eaft_alpha=0.5"]))
    assert float(eaft(outputs, labels, num_items_in_batch=None)) == float(eaft_loss(outputs, labels, alpha=0.5))
    config = load_config(overrides=["use_asft_loss=true", "asft_alpha=0.3", "finetuning_type=full"])
    assert chosen_loss(config) == "asft"
    ref = torch.zeros_like(outputs["logits"])
    assert float(compute_loss_func(config)(outputs, labels, ref)) == float(asft_loss(outputs, labels, ref, alpha=0.3))


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("stage: pt\nuse_dft_loss: true", "use_dft_loss", "use_dft_loss is a loss of stage sft only"),
        ("stage: dpo\nuse_eaft_loss: true", "use_eaft_loss", "use_eaft_loss is a loss of stage sft only"),
        ("use_dft_loss: true\nuse_eaft_loss: true", "use_dft_loss", "choose one of use_dft_loss"),
        ("use_asft_loss: true", "use_asft_loss", "ASFT with finetuning_type lora needs ref_model"),
    ],
)
def test_sft_loss_rules(tmp_path: Path, text: str, key: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text + "\n")
    _, issues = check_config(path)
    assert [(issue.key, message in issue.message) for issue in issues] == [(key, True)], [str(i) for i in issues]


@pytest.mark.parametrize(
    "text", ["use_asft_loss: true\nfinetuning_type: full", "use_asft_loss: true\nref_model: models/base"]
)
def test_asft_with_a_reference_model_is_valid(tmp_path: Path, text: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text + "\n")
    assert check_config(path)[1] == []


def test_asft_trainer_compares_with_the_reference_logits() -> None:
    from lmf_engine.train.sft_trainer import SFTTrainer

    outputs, labels = _batch(5)
    ref_logits = torch.randn(2, 5, 30, generator=torch.Generator().manual_seed(6))
    seen: dict[str, Any] = {}

    def model(**inputs: Any) -> dict[str, torch.Tensor]:
        seen["model"] = sorted(inputs)
        return outputs

    def ref_model(**inputs: Any) -> SimpleNamespace:
        seen["ref"] = sorted(inputs)
        return SimpleNamespace(logits=ref_logits)

    trainer = SimpleNamespace(ref_model=ref_model, compute_loss_func=compute_loss_func(
        load_config(overrides=["use_asft_loss=true", "finetuning_type=full"])
    ))  # fmt: skip
    inputs = {"input_ids": torch.zeros(2, 5, dtype=torch.long), "attention_mask": torch.ones(2, 5), "labels": labels}
    loss, returned = SFTTrainer.compute_loss(trainer, model, inputs, return_outputs=True)
    assert returned is outputs
    assert seen == {"model": ["attention_mask", "input_ids"], "ref": ["attention_mask", "input_ids"]}
    assert float(loss) == float(asft_loss(outputs, labels, ref_logits, alpha=0.1))
