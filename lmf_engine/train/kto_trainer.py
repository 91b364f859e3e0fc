"""The kto trainer: LLaMA-Factory's ``CustomKTOTrainer`` on transformers' Trainer, fed our pre-tokenized rows.

Each row is one answer tagged desirable or undesirable (``kto_tags``) plus a mismatched ``kl_*`` sequence; the KL
term is the batch mean of policy minus reference log-probabilities on the mismatched sequences, clamped at 0, and
the loss is trl's KTO loss weighted by ``kto_chosen_weight`` / ``kto_rejected_weight``. ``pref_ftx`` adds the
desirable answers' SFT loss. Logged: rewards, logps and logits of chosen and rejected, rewards/margins, kl.
Imported only to train.
"""

from typing import Any

import torch
import torch.nn.functional as F
from transformers import Trainer

from .media_batch import SEQUENCE_MEDIA_INPUTS
from .pref_math import batch_logps
from .preference import PreferenceTrainerMixin, prepare_ref_model
from .trainer import WorkbenchTrainerMixin

SUMS = ("rewards", "logps", "logits")
NOT_SHARED = ("input_ids", "attention_mask", "labels", "kto_tags", *SEQUENCE_MEDIA_INPUTS)


class KTOTrainer(PreferenceTrainerMixin, WorkbenchTrainerMixin, Trainer):
    """See the module docstring. ``ref_model`` None with LoRA: the adapter is switched off for the reference."""

    summed_metrics = (
        *(f"{kind}/{side}_sum" for kind in SUMS for side in ("chosen", "rejected")),
        "count/chosen",
        "count/rejected",
    )

    def __init__(self, *args: Any, ref_model: Any = None, disable_dropout: bool = True, **kwargs: Any) -> None:
        from trl.trainer.utils import disable_dropout_in_model

        config = kwargs["lmf_config"]
        if disable_dropout:
            disable_dropout_in_model(kwargs["model"])
            if ref_model is not None:
                disable_dropout_in_model(ref_model)
        self.beta = config.get("pref_beta")
        self.desirable_weight = config.get("kto_chosen_weight")
        self.undesirable_weight = config.get("kto_rejected_weight")
        self.ftx_gamma = config.get("pref_ftx")
        self.init_metrics()
        super().__init__(*args, **kwargs)
        self.model_accepts_loss_kwargs = False
        self.ref_model = prepare_ref_model(self, ref_model)

    def sequence_logps(
        self, model: Any, batch: dict[str, torch.Tensor], prefix: str = ""
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(logits, summed log-probabilities, mean log-probabilities) of the ``prefix`` sequences."""
        inputs = {
            "input_ids": batch[f"{prefix}input_ids"].detach().clone(),
            "attention_mask": batch[f"{prefix}attention_mask"].detach().clone(),
        }
        for key, value in batch.items():  # a multimodal row's media inputs go with both of its sequences
            if key not in NOT_SHARED and not key.startswith("kl_"):
                inputs[key] = value.detach().clone() if hasattr(value, "detach") else value
        for key in SEQUENCE_MEDIA_INPUTS:
            if f"{prefix}{key}" in batch:
                inputs[key] = batch[f"{prefix}{key}"].detach().clone()
        logits = model(**inputs, return_dict=True, use_cache=False).logits.to(torch.float32)
        logps, lengths = batch_logps(logits, batch[f"{prefix}labels"])
        return logits, logps, logps / lengths

    def split_forward(self, model: Any, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        logits, logps, logps_avg = self.sequence_logps(model, batch)
        with torch.no_grad():
            _, kl_logps, _ = self.sequence_logps(model, batch, prefix="kl_")
        tags = batch["kto_tags"].bool()
        if len(logps) != len(tags):
            raise ValueError("Mismatched shape of inputs and labels.")
        return {
            "chosen_logps": logps[tags],
            "rejected_logps": logps[~tags],
            "chosen_logits": logits[tags],
            "rejected_logits": logits[~tags],
            "kl_logps": kl_logps,
            "chosen_logps_avg": logps_avg[tags],
        }

    def kto_loss(
        self, policy: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(per-answer losses, chosen rewards, rejected rewards, kl) as trl's ``kto_loss`` computes them."""
        kl = (policy["kl_logps"] - reference["kl_logps"]).mean().detach()
        kl = self.accelerator.gather_for_metrics(kl).mean().clamp(min=0)
        chosen_logratios = policy["chosen_logps"] - reference["chosen_logps"]
        rejected_logratios = policy["rejected_logps"] - reference["rejected_logps"]
        chosen_losses = 1 - F.sigmoid(self.beta * (chosen_logratios - kl))
        rejected_losses = 1 - F.sigmoid(self.beta * (kl - rejected_logratios))
        losses = torch.cat((self.desirable_weight * chosen_losses, self.undesirable_weight * rejected_losses), 0)
        return losses, self.beta * chosen_logratios.detach(), self.beta * rejected_logratios.detach(), kl

    def batch_loss_metrics(
        self, model: Any, inputs: dict[str, torch.Tensor], split: str
    ) -> tuple[torch.Tensor, dict[str, float]]:
        policy = self.split_forward(model, inputs)
        ref_model, context = self.reference_context(model)
        with torch.no_grad(), context:
            reference = self.split_forward(ref_model, inputs)
        losses, chosen_rewards, rejected_rewards, kl = self.kto_loss(policy, reference)
        loss = losses.nanmean()
        num_chosen = len(chosen_rewards)
        if self.ftx_gamma > 1e-6 and num_chosen > 0:
            sft_loss = -policy["chosen_logps_avg"]
            loss = loss + self.ftx_gamma * sft_loss.nanmean() / num_chosen * len(inputs["labels"])
        metrics = {"kl": kl.item()}
        for side, rewards in (("chosen", chosen_rewards), ("rejected", rejected_rewards)):
            metrics[f"rewards/{side}_sum"] = rewards.nansum().item()
            metrics[f"logps/{side}_sum"] = policy[f"{side}_logps"].detach().nansum().item()
            metrics[f"logits/{side}_sum"] = policy[f"{side}_logits"].detach().nansum().item()
            metrics[f"count/{side}"] = float(len(rewards))
        return loss, metrics

    def finish_metrics(self, metrics: dict[str, float]) -> dict[str, float]:
        """Sums over counts become means; a side with no answers in the logged steps is left out."""
        out: dict[str, float] = {}
        for side in ("chosen", "rejected"):
            count = metrics.pop(f"count/{side}", 0.0)
            for kind in SUMS:
                total = metrics.pop(f"{kind}/{side}_sum", 0.0)
                if count > 0:
                    out[f"{kind}/{side}"] = total / count
        if "rewards/chosen" in out and "rewards/rejected" in out:
            out["rewards/margins"] = out["rewards/chosen"] - out["rewards/rejected"]
        out.update(metrics)
        return out
