"""The rm trainer: LLaMA-Factory's ``PairwiseTrainer``. The score of an answer is the value head's output at its
last token; the loss is ``-log sigmoid(chosen - rejected)``. Evaluation reports the pairwise accuracy; prediction
writes ``{"chosen", "rejected"}`` scores to generated_predictions.jsonl. Imported only to train."""

import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from transformers import Trainer

from .trainer import WorkbenchTrainerMixin
from .valuehead_io import ValueHeadSavingMixin

PREDICTIONS_FILE = "generated_predictions.jsonl"


def _numpy(value: Any) -> np.ndarray:
    return value.detach().float().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


@dataclass
class PairwiseAccuracy:
    """Share of pairs whose chosen answer scores higher (supports ``batch_eval_metrics``)."""

    correct: list[bool] = field(default_factory=list)

    def __call__(self, eval_preds: Any, compute_result: bool = True) -> dict[str, float] | None:
        chosen, rejected = _numpy(eval_preds.predictions[0]), _numpy(eval_preds.predictions[1])
        self.correct.extend(np.atleast_1d(chosen > rejected).tolist())
        if not compute_result:
            return None
        result = {"accuracy": float(np.mean(self.correct))} if self.correct else {}
        self.correct = []
        return result


class PairwiseTrainer(ValueHeadSavingMixin, WorkbenchTrainerMixin, Trainer):
    """Trains a ValueHeadModel on pairs batched as [chosen..., rejected...]."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.model_accepts_loss_kwargs = False
        self.can_return_loss = True

    def compute_loss(
        self, model: Any, inputs: dict[str, torch.Tensor], return_outputs: bool = False, **kwargs: Any
    ) -> Any:
        model_inputs = {key: value for key, value in inputs.items() if key != "labels"}  # a VLM's images too
        _, _, values = model(**model_inputs, use_cache=False)
        half = inputs["input_ids"].size(0) // 2
        chosen_masks, rejected_masks = torch.split(inputs["attention_mask"], half, dim=0)
        chosen_values, rejected_values = torch.split(values, half, dim=0)
        chosen_scores = chosen_values.gather(dim=-1, index=chosen_masks.sum(dim=-1, keepdim=True) - 1).squeeze()
        rejected_scores = rejected_values.gather(dim=-1, index=rejected_masks.sum(dim=-1, keepdim=True) - 1).squeeze()
        loss = -torch.nn.functional.logsigmoid(chosen_scores.float() - rejected_scores.float()).mean()
        return (loss, (loss, chosen_scores, rejected_scores)) if return_outputs else loss

    def save_predictions(self, results: Any) -> str | None:
        """Write one ``{"chosen": score, "rejected": score}`` line per pair (main process only)."""
        if not self.is_world_process_zero():
            return None
        chosen, rejected = (np.atleast_1d(_numpy(scores)) for scores in results.predictions)
        path = os.path.join(self.args.output_dir, PREDICTIONS_FILE)
        lines = [
            json.dumps({"chosen": round(float(c), 2), "rejected": round(float(r), 2)})
            for c, r in zip(chosen, rejected, strict=True)
        ]
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines))
        return path
