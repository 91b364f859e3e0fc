"""LLaMA-Factory 0.9.5's alternative SFT losses, computed as its ``train/trainer_utils.py`` computes them.

- ``use_dft_loss`` (DFT): each label token's cross-entropy times its own probability (detached), summed and divided
  by the trainer's ``num_items_in_batch`` (the label tokens of the whole accumulated batch), else averaged.
- ``use_eaft_loss`` (EAFT): each label token's cross-entropy times ``(H / 3) ** eaft_alpha`` (detached), where ``H``
  is the entropy of the softmax over the token's top-20 logits; reduced as DFT.
- ``use_asft_loss`` (ASFT): the DFT loss averaged over the micro-batch's label tokens plus ``asft_alpha`` times the
  mean per-token KL(reference || model) over label positions; the reference model's logits come from a frozen copy
  of the starting model (or ``ref_model``).

The functions take the model outputs and the unshifted labels, as transformers' ``compute_loss_func`` does.
"""

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from lmf_engine.data.processors import IGNORE_INDEX

if TYPE_CHECKING:
    from lmf_engine.config import Config

LossFunction = Callable[..., torch.Tensor]
EAFT_TOP_K = 20
EAFT_ENTROPY_SCALE = 3.0


def chosen_loss(config: "Config") -> str | None:
    """The alternative loss the config asks for: ``dft``, ``eaft``, ``asft`` or None for plain cross-entropy."""
    for name in ("dft", "eaft", "asft"):
        if config.get(f"use_{name}_loss"):
            return name
    return None


def _next_token_targets(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every position's logits (float32, flattened) and the label it predicts (the next one; -100 at the end)."""
    targets = F.pad(labels, (0, 1), value=IGNORE_INDEX)[..., 1:].reshape(-1)
    flat = logits.float().reshape(-1, logits.size(-1))
    return flat, targets.to(flat.device)


def _reduce(weighted: torch.Tensor, num_items_in_batch: Any) -> torch.Tensor:
    if num_items_in_batch is None:
        return weighted.mean()
    if torch.is_tensor(num_items_in_batch):
        num_items_in_batch = num_items_in_batch.to(weighted.device)
    return weighted.sum() / num_items_in_batch


def _no_label_loss(logits: torch.Tensor) -> torch.Tensor:
    """Zero for a batch without a single label token, still attached to the graph so that backward runs."""
    return logits.sum() * 0.0


def _label_losses(logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Each label token's cross-entropy and where the label tokens are; None when there is none."""
    per_token = F.cross_entropy(logits, targets, ignore_index=IGNORE_INDEX, reduction="none")
    valid = targets != IGNORE_INDEX
    return (per_token[valid], valid) if valid.any() else None


def _dft(logits: torch.Tensor, targets: torch.Tensor, num_items_in_batch: Any) -> torch.Tensor:
    found = _label_losses(logits, targets)
    if found is None:
        return _no_label_loss(logits)
    losses, _ = found
    with torch.no_grad():
        probs = torch.exp(-losses)
    return _reduce(losses * probs, num_items_in_batch)


def dft_loss(outputs: Any, labels: torch.Tensor, num_items_in_batch: Any = None) -> torch.Tensor:
    """DFT: cross-entropy weighted by the label token's probability."""
    logits, targets = _next_token_targets(outputs["logits"], labels)
    return _dft(logits, targets, num_items_in_batch)


def eaft_loss(outputs: Any, labels: torch.Tensor, num_items_in_batch: Any = None, alpha: float = 1.0) -> torch.Tensor:
    """EAFT: cross-entropy weighted by the scaled top-20 entropy of the prediction, to the power ``alpha``."""
    logits, targets = _next_token_targets(outputs["logits"], labels)
    found = _label_losses(logits, targets)
    if found is None:
        return _no_label_loss(logits)
    losses, valid = found
    with torch.no_grad():
        top, _ = torch.topk(logits[valid].detach(), k=min(EAFT_TOP_K, logits.size(-1)), dim=-1)
        log_probs = top - torch.logsumexp(top, dim=-1, keepdim=True)
        entropy = -(torch.exp(log_probs) * log_probs).sum(dim=-1)
        weights = torch.pow(entropy / EAFT_ENTROPY_SCALE, alpha)
    return _reduce(losses * weights, num_items_in_batch)


def asft_loss(outputs: Any, labels: torch.Tensor, ref_logits: torch.Tensor, alpha: float = 0.1) -> torch.Tensor:
    """ASFT: the micro-batch mean DFT loss plus ``alpha`` times the mean KL(reference || model) at label positions."""
    logits = outputs["logits"].float()[..., :-1, :]
    vocab = logits.size(-1)
    logits = logits.reshape(-1, vocab)
    ref = ref_logits[..., :-1, :].reshape(-1, vocab)
    targets = labels[..., 1:].reshape(-1).to(logits.device)
    mask = (targets != IGNORE_INDEX).float()
    if not mask.any():
        return _no_label_loss(logits)
    dft = _dft(logits, targets, None)
    kl = F.kl_div(F.log_softmax(logits, dim=-1), F.softmax(ref, dim=-1), reduction="none").sum(dim=-1)
    return dft + alpha * (kl * mask).sum() / mask.sum()


def compute_loss_func(config: "Config") -> LossFunction | None:
    """The trainer's ``compute_loss_func`` for the chosen loss (None: the model's own cross-entropy).

    The ASFT function takes the reference logits in place of ``num_items_in_batch``: the trainer's ``compute_loss``
    calls it so (as LLaMA-Factory's does).
    """
    name = chosen_loss(config)
    if name == "dft":
        return dft_loss
    if name == "eaft":
        return partial(eaft_loss, alpha=config.get("eaft_alpha"))
    if name == "asft":
        return partial(asft_loss, alpha=config.get("asft_alpha"))
    return None
