"""The PPO update of trl 0.9's ``PPOTrainer`` (the version LLaMA-Factory 0.9.5 trains with; trl 1.x removed it):
per-token rewards with a KL penalty, GAE advantages, the clipped policy and value losses, the adaptive KL
controller. Imported only to train (needs torch)."""

import logging
from dataclasses import dataclass

import torch

from .pref_math import masked_mean, masked_whiten

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PPOHyperParams:
    """trl 0.9's PPOConfig defaults for what LLaMA-Factory does not set."""

    init_kl_coef: float = 0.2
    target: float = 6.0
    horizon: float = 10000.0
    gamma: float = 1.0
    lam: float = 0.95
    cliprange: float = 0.2
    cliprange_value: float = 0.2
    vf_coef: float = 0.1
    ratio_threshold: float = 10.0
    whiten_rewards: bool = False


class AdaptiveKLController:
    """The KL coefficient moves towards the one that keeps the KL near ``target`` (Ziegler et al.)."""

    def __init__(self, init_kl_coef: float, target: float, horizon: float) -> None:
        self.value = init_kl_coef
        self.target = target
        self.horizon = horizon

    def update(self, current: float, n_steps: int) -> None:
        proportional_error = min(max(current / self.target - 1, -0.2), 0.2)
        self.value *= 1 + proportional_error * n_steps / self.horizon


def compute_rewards(
    scores: torch.Tensor, logprobs: torch.Tensor, ref_logprobs: torch.Tensor, masks: torch.Tensor, kl_coef: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(per-token rewards, per-token KL): minus ``kl_coef`` times the KL at every token, plus the score at the last
    response token."""
    kls = logprobs - ref_logprobs
    rewards = -kl_coef * kls
    for row, score in enumerate(scores):
        last = masks[row].nonzero()[-1]
        rewards[row, last] += score
    return rewards, kls


def compute_advantages(
    values: torch.Tensor, rewards: torch.Tensor, mask: torch.Tensor, hp: PPOHyperParams
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(masked values, whitened GAE advantages, returns)."""
    values = values * mask
    rewards = rewards * mask
    if hp.whiten_rewards:
        rewards = masked_whiten(rewards, mask, shift_mean=False)
    last_gae = torch.zeros_like(rewards[:, 0])
    advantages_reversed = []
    length = rewards.shape[-1]
    for t in reversed(range(length)):
        next_values = values[:, t + 1] if t < length - 1 else 0.0
        delta = rewards[:, t] + hp.gamma * next_values - values[:, t]
        last_gae = delta + hp.gamma * hp.lam * last_gae
        advantages_reversed.append(last_gae)
    advantages = torch.stack(advantages_reversed[::-1]).transpose(0, 1)
    returns = advantages + values
    return values, masked_whiten(advantages, mask).detach(), returns


def ppo_loss(
    old_logprobs: torch.Tensor,
    values: torch.Tensor,
    logprobs: torch.Tensor,
    vpreds: torch.Tensor,
    mask: torch.Tensor,
    advantages: torch.Tensor,
    returns: torch.Tensor,
    hp: PPOHyperParams,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(policy loss, weighted value loss); both zero when the mean probability ratio exceeds ``ratio_threshold``."""
    vpred_clipped = torch.clamp(vpreds, values - hp.cliprange_value, values + hp.cliprange_value)
    vf_losses = torch.max((vpreds - returns) ** 2, (vpred_clipped - returns) ** 2)
    vf_loss = 0.5 * masked_mean(vf_losses, mask)
    ratio = torch.exp(logprobs - old_logprobs)
    pg_losses = torch.max(
        -advantages * ratio, -advantages * torch.clamp(ratio, 1.0 - hp.cliprange, 1.0 + hp.cliprange)
    )
    pg_loss = masked_mean(pg_losses, mask)
    avg_ratio = masked_mean(ratio, mask).item()
    if avg_ratio > hp.ratio_threshold:
        log.warning("The average ratio of batch (%.2f) exceeds %s; skipping the batch.", avg_ratio, hp.ratio_threshold)
        return pg_loss * 0.0, vf_loss * 0.0
    return pg_loss, hp.vf_coef * vf_loss
