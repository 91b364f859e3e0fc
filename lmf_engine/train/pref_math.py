"""Tensor arithmetic the preference stages share: sequence log-probabilities (LLaMA-Factory's ``get_batch_logps``),
masked statistics and running moments (as trl 0.9's ``core`` had them; trl 1.x no longer ships them).
Imported only to train (needs torch)."""

from typing import Any

import torch

from lmf_engine.data.processors import IGNORE_INDEX


def batch_logps(
    logits: torch.Tensor, labels: torch.Tensor, ld_alpha: float | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed log-probabilities of the label tokens and the number of label tokens, per row.

    ``ld_alpha`` (LD-DPO): rows are [chosen..., rejected...]; tokens past the shorter answer of a pair count
    ``ld_alpha`` times.
    """
    from trl.trainer.utils import selective_log_softmax

    if logits.shape[:-1] != labels.shape:
        raise ValueError("Logits (batchsize x seqlen) and labels must have the same shape.")
    labels = labels[:, 1:].clone()
    logits = logits[:, :-1, :]
    loss_mask = labels != IGNORE_INDEX
    labels[~loss_mask] = 0
    per_token = selective_log_softmax(logits, labels)
    valid_length = loss_mask.sum(-1)
    if ld_alpha is None:
        return (per_token * loss_mask).sum(-1), valid_length
    half = labels.shape[0] // 2
    shortest = torch.min(valid_length[:half], valid_length[half:])
    starts = torch.argmax(loss_mask.int(), dim=1)
    shared_end = starts + torch.cat([shortest, shortest], dim=0)
    positions = torch.arange(labels.shape[-1], device=per_token.device).expand_as(per_token)
    shared = positions < shared_end.unsqueeze(1)
    front = (per_token * (shared & loss_mask)).sum(-1)
    rear = (per_token * (~shared & loss_mask)).sum(-1)
    return front + ld_alpha * rear, valid_length


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (values * mask).sum() / mask.sum()


def masked_var(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Unbiased variance of the masked values."""
    centered = values - masked_mean(values, mask)
    variance = masked_mean(centered**2, mask)
    count = mask.sum()
    if count <= 1:
        raise ValueError("too few tokens to whiten: make responses longer or batches larger")
    return variance * count / (count - 1)


def masked_whiten(values: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True) -> torch.Tensor:
    """Values scaled to unit variance (and zero mean unless ``shift_mean`` is False) over the mask."""
    mean, var = masked_mean(values, mask), masked_var(values, mask)
    whitened = (values - mean) * torch.rsqrt(var + 1e-8)
    return whitened if shift_mean else whitened + mean


class RunningMoments:
    """Running mean and standard deviation of a stream of batches, across processes."""

    def __init__(self, accelerator: Any) -> None:
        self.accelerator = accelerator
        self.mean = 0.0
        self.std = 1.0
        self.var = 1.0
        self.count = 1e-24

    @torch.no_grad()
    def update(self, values: torch.Tensor) -> tuple[float, float]:
        """Add a batch; returns the batch's own mean and (unbiased) standard deviation."""
        values = values.float()
        if self.accelerator.num_processes > 1:
            total = self.accelerator.reduce(torch.stack([values.sum(), values.new_tensor(values.numel())]), "sum")
            batch_mean, count = total[0] / total[1], total[1]
            squares = self.accelerator.reduce(((values - batch_mean) ** 2).sum(), "sum")
            batch_var = squares / count
        else:
            count = values.new_tensor(values.numel())
            batch_var, batch_mean = torch.var_mean(values, unbiased=False)
        delta = batch_mean - self.mean
        total_count = self.count + count
        old_sum = self.var * self.count + delta**2 * self.count * count / total_count
        new_var = (old_sum + batch_var * count) / total_count
        self.mean += (delta * count / total_count).item()
        self.std = (new_var * total_count / (total_count - 1)).sqrt().item()
        self.var = new_var.item()
        self.count = total_count.item()
        return batch_mean.item(), (batch_var * count / (count - 1)).sqrt().item()
