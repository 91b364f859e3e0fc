"""The dpo trainer: LLaMA-Factory's ``CustomDPOTrainer`` on transformers' Trainer, fed our pre-tokenized pairs.

Losses (``pref_loss``): sigmoid (DPO, with ``dpo_label_smoothing``), hinge, ipo, kto_pair — these compare with a
reference model — and the reference-free orpo and simpo. ``pref_ftx`` adds the chosen answers' SFT loss,
``pref_bco_weight`` blends in the BCO loss, ``ld_alpha`` down-weights the tokens past the shorter answer (LD-DPO).
Logged: rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins, logps/*, logits/* (and for orpo
sft_loss, odds_ratio_loss). Imported only to train.
"""

from typing import Any

import torch
import torch.nn.functional as F
from transformers import Trainer

from .pref_math import RunningMoments, batch_logps
from .preference import PreferenceTrainerMixin, prepare_ref_model
from .trainer import WorkbenchTrainerMixin

REFERENCE_FREE = ("orpo", "simpo")
AVERAGED_LOGPS = ("ipo", "orpo", "simpo")
"""Losses computed on the mean (not summed) log-probability of an answer."""


def uses_ref_model(pref_loss: str) -> bool:
    """Whether the loss compares with a reference model (LLaMA-Factory's ``use_ref_model``)."""
    return pref_loss not in REFERENCE_FREE


class DPOTrainer(PreferenceTrainerMixin, WorkbenchTrainerMixin, Trainer):
    """See the module docstring. ``ref_model`` None with LoRA: the adapter is switched off for the reference."""

    def __init__(self, *args: Any, ref_model: Any = None, disable_dropout: bool = True, **kwargs: Any) -> None:
        from trl.trainer.utils import disable_dropout_in_model

        config = kwargs["lmf_config"]
        model = kwargs["model"]
        if disable_dropout:
            disable_dropout_in_model(model)
            if ref_model is not None:
                disable_dropout_in_model(ref_model)
        self.loss_type = config.get("pref_loss")
        self.use_ref_model = uses_ref_model(self.loss_type)
        self.beta = config.get("pref_beta")
        self.ftx_gamma = config.get("pref_ftx")
        self.bco_gamma = config.get("pref_bco_weight")
        self.label_smoothing = config.get("dpo_label_smoothing")
        self.simpo_gamma = config.get("simpo_gamma")
        self.ld_alpha = config.get("ld_alpha")
        self.init_metrics()
        super().__init__(*args, **kwargs)
        self.model_accepts_loss_kwargs = False
        self.ref_model = prepare_ref_model(self, ref_model)
        self.running = RunningMoments(self.accelerator) if self.bco_gamma >= 1e-6 else None

    def odds_ratio_loss(self, chosen_logps: torch.Tensor, rejected_logps: torch.Tensor) -> torch.Tensor:
        """ORPO: the chosen answers' NLL plus beta times the odds-ratio loss."""
        log_odds = (chosen_logps - rejected_logps) - (
            torch.log1p(-torch.exp(chosen_logps)) - torch.log1p(-torch.exp(rejected_logps))
        )
        return -chosen_logps + self.beta * -F.logsigmoid(log_odds)

    def simpo_loss(self, chosen_logps: torch.Tensor, rejected_logps: torch.Tensor) -> torch.Tensor:
        """SimPO: a sigmoid loss on the length-normalised margin minus ``simpo_gamma / beta``."""
        logits = chosen_logps - rejected_logps - self.simpo_gamma / self.beta
        return -F.logsigmoid(self.beta * logits)

    def bco_loss(self, chosen_logratios: torch.Tensor, rejected_logratios: torch.Tensor) -> torch.Tensor:
        chosen_rewards, rejected_rewards = self.beta * chosen_logratios, self.beta * rejected_logratios
        self.running.update(torch.cat((chosen_rewards, rejected_rewards), 0).mean().detach())
        delta = self.running.mean
        return -F.logsigmoid(chosen_rewards - delta) - F.logsigmoid(-(rejected_rewards - delta))

    def dpo_loss(self, chosen_logratios: torch.Tensor, rejected_logratios: torch.Tensor) -> torch.Tensor:
        """Per-pair loss of the reference-based losses (kto_pair gives one loss per answer)."""
        logits = chosen_logratios - rejected_logratios
        if self.loss_type == "sigmoid":
            return (
                -F.logsigmoid(self.beta * logits) * (1 - self.label_smoothing)
                - F.logsigmoid(-self.beta * logits) * self.label_smoothing
            )
        if self.loss_type == "hinge":
            return torch.relu(1 - self.beta * logits)
        if self.loss_type == "ipo":
            return (logits - 1 / (2 * self.beta)) ** 2
        if self.loss_type == "kto_pair":
            chosen_kl = chosen_logratios.mean().clamp(min=0)
            rejected_kl = rejected_logratios.mean().clamp(min=0)
            return torch.cat(
                (
                    1 - F.sigmoid(self.beta * (chosen_logratios - rejected_kl)),
                    1 - F.sigmoid(self.beta * (chosen_kl - rejected_logratios)),
                ),
                0,
            )
        raise ValueError(f"pref_loss: unknown loss type {self.loss_type!r}")

    def preference_loss(
        self, chosen_logps: torch.Tensor, rejected_logps: torch.Tensor, ref_chosen: Any, ref_rejected: Any
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(losses, chosen rewards, rejected rewards)."""
        if not self.use_ref_model:
            losses = (self.odds_ratio_loss if self.loss_type == "orpo" else self.simpo_loss)(
                chosen_logps, rejected_logps
            )
            return losses, self.beta * chosen_logps.detach(), self.beta * rejected_logps.detach()
        chosen_logratios = chosen_logps - ref_chosen.to(chosen_logps.device)
        rejected_logratios = rejected_logps - ref_rejected.to(rejected_logps.device)
        losses = self.dpo_loss(chosen_logratios, rejected_logratios)
        if self.running is not None:
            bco = self.bco_loss(chosen_logratios, rejected_logratios)
            losses = (losses + bco * self.bco_gamma) / (1.0 + self.bco_gamma)
        return losses, self.beta * chosen_logratios.detach(), self.beta * rejected_logratios.detach()

    def concatenated_forward(
        self, model: Any, batch: dict[str, torch.Tensor], is_ref_model: bool = False
    ) -> dict[str, torch.Tensor]:
        """Log-probabilities (summed, or averaged for ipo/orpo/simpo) and mean logits of chosen and rejected."""
        if self.use_ref_model:
            batch = {key: value.detach().clone() for key, value in batch.items()}
        labels = batch.pop("labels")
        logits = model(**batch, return_dict=True, use_cache=False).logits.to(torch.float32)
        logps, lengths = batch_logps(logits, labels, ld_alpha=None if is_ref_model else self.ld_alpha)
        if self.loss_type in AVERAGED_LOGPS:
            logps = logps / lengths
        half = batch["input_ids"].size(0) // 2
        chosen_logps, rejected_logps = logps.split(half, dim=0)
        chosen_logits, rejected_logits = logits.split(half, dim=0)
        chosen_length = lengths[:half]
        return {
            "chosen_logps": chosen_logps,
            "rejected_logps": rejected_logps,
            "chosen_logits_mean": chosen_logits.detach().mean(),
            "rejected_logits_mean": rejected_logits.detach().mean(),
            "chosen_logps_avg": chosen_logps if self.loss_type in AVERAGED_LOGPS else chosen_logps / chosen_length,
        }

    def reference_logps(self, model: Any, batch: dict[str, torch.Tensor]) -> tuple[Any, Any]:
        if not self.use_ref_model:
            return None, None
        ref_model, context = self.reference_context(model)
        with torch.no_grad(), context:
            output = self.concatenated_forward(ref_model, batch, is_ref_model=True)
        return output["chosen_logps"], output["rejected_logps"]

    def batch_loss_metrics(
        self, model: Any, inputs: dict[str, torch.Tensor], split: str
    ) -> tuple[torch.Tensor, dict[str, float]]:
        output = self.concatenated_forward(model, inputs)
        chosen_logps, rejected_logps = output["chosen_logps"], output["rejected_logps"]
        ref_chosen, ref_rejected = self.reference_logps(model, inputs)
        losses, chosen_rewards, rejected_rewards = self.preference_loss(
            chosen_logps, rejected_logps, ref_chosen, ref_rejected
        )
        sft_loss = -output["chosen_logps_avg"]
        loss = losses.mean()
        if self.ftx_gamma > 1e-6:
            loss = loss + self.ftx_gamma * sft_loss.mean()
        metrics = {
            "rewards/chosen": chosen_rewards.mean().item(),
            "rewards/rejected": rejected_rewards.mean().item(),
            "rewards/accuracies": (chosen_rewards > rejected_rewards).float().mean().item(),
            "rewards/margins": (chosen_rewards - rejected_rewards).mean().item(),
            "logps/chosen": chosen_logps.detach().mean().item(),
            "logps/rejected": rejected_logps.detach().mean().item(),
            "logits/chosen": output["chosen_logits_mean"].item(),
            "logits/rejected": output["rejected_logits_mean"].item(),
        }
        if self.loss_type == "orpo":
            metrics["sft_loss"] = sft_loss.detach().mean().item()
            metrics["odds_ratio_loss"] = ((losses.detach() - sft_loss.detach()) / self.beta).mean().item()
        return loss, metrics
