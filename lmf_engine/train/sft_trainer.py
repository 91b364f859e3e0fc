"""The sft trainer: Seq2SeqTrainer that strips the prompt from generated tokens and writes
``generated_predictions.jsonl``; the token-accuracy metric (``compute_accuracy``) and the similarity metrics of
generated answers (``predict_with_generate``). Imported only to train."""

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from transformers import Seq2SeqTrainer

from lmf_engine.data.processors import IGNORE_INDEX

from .preference import prepare_ref_model
from .sft_losses import chosen_loss, compute_loss_func
from .trainer import WorkbenchTrainerMixin

PREDICTIONS_FILE = "generated_predictions.jsonl"


def argmax_logits(logits: Any, labels: Any) -> "torch.Tensor":
    """Keep only the most likely token per position, so evaluation does not hold whole logit tensors."""
    if isinstance(logits, list | tuple):
        logits = logits[0] if logits[0].dim() == 3 else logits[1]
    if logits.dim() != 3:
        raise ValueError("compute_accuracy: cannot read the model's logits")
    return torch.argmax(logits, dim=-1)


def _numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.cpu().numpy()
    return np.asarray(value)


@dataclass
class ComputeAccuracy:
    """Mean next-token accuracy over label tokens, per example then averaged (LLaMA-Factory's ``accuracy``)."""

    scores: list[float] = field(default_factory=list)

    def __call__(self, eval_preds: Any, compute_result: bool = True) -> dict[str, float] | None:
        preds, labels = _numpy(eval_preds.predictions), _numpy(eval_preds.label_ids)
        for pred, label in zip(preds, labels, strict=True):
            pred, label = pred[:-1], label[1:]
            mask = label != IGNORE_INDEX
            self.scores.append(float(np.mean(pred[mask] == label[mask])))
        if not compute_result:
            return None
        result = {"accuracy": float(np.mean(self.scores))}
        self.scores = []
        return result


@dataclass
class ComputeSimilarity:
    """BLEU-4 and ROUGE-1/2/L of generated answers against the labels, decoded without special tokens, as
    LLaMA-Factory computes them with ``predict_with_generate``; plus exact match and answer length."""

    tokenizer: Any
    scorer: Any = None

    def __call__(self, eval_preds: Any, compute_result: bool = True) -> dict[str, float] | None:
        from lmf_engine.evaluate.similarity import Scorer

        pad = self.tokenizer.pad_token_id
        preds, labels = _numpy(eval_preds.predictions), _numpy(eval_preds.label_ids)
        preds = np.where(preds != IGNORE_INDEX, preds, pad)
        labels = np.where(labels != IGNORE_INDEX, labels, pad)
        self.scorer = self.scorer or Scorer()
        decode = self.tokenizer.batch_decode
        for predict, label in zip(decode(preds, skip_special_tokens=True), decode(labels, skip_special_tokens=True),
                                  strict=True):  # fmt: skip
            self.scorer.add(predict, label)
        if not compute_result:
            return None
        result, self.scorer = self.scorer.mean(), None
        return result


class SFTTrainer(WorkbenchTrainerMixin, Seq2SeqTrainer):
    """See the module docstring. ``gen_kwargs`` are used by evaluation during training too.

    The loss is the model's cross-entropy, or DFT/EAFT/ASFT (:mod:`.sft_losses`) as the config asks; ASFT compares
    with ``ref_model``'s logits.
    """

    def __init__(
        self, *args: Any, gen_kwargs: dict[str, Any] | None = None, ref_model: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if gen_kwargs is not None:
            self._gen_kwargs = gen_kwargs
        if chosen_loss(self.lmf_config) is not None:
            self.compute_loss_func = compute_loss_func(self.lmf_config)
        self.ref_model = prepare_ref_model(self, ref_model)
        if chosen_loss(self.lmf_config) == "asft" and self.ref_model is None:
            raise ValueError("use_asft_loss: ASFT needs a reference model")

    def compute_loss(
        self, model: Any, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        if self.ref_model is None:
            return super().compute_loss(
                model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
            )
        with torch.no_grad():
            ref_logits = self.ref_model(
                input_ids=inputs["input_ids"], attention_mask=inputs.get("attention_mask")
            ).logits
        outputs = model(**{key: value for key, value in inputs.items() if key != "labels"})
        loss = self.compute_loss_func(outputs, inputs["labels"], ref_logits)
        return (loss, outputs) if return_outputs else loss

    def prediction_step(
        self,
        model: Any,
        inputs: dict[str, Any],
        prediction_loss_only: bool,
        ignore_keys: list[str] | None = None,
        **gen_kwargs: Any,
    ) -> tuple[Any, Any, Any]:
        labels = inputs.pop("labels", None) if self.args.predict_with_generate else inputs.get("labels")
        loss, generated, _ = super().prediction_step(
            model, inputs, prediction_loss_only=prediction_loss_only, ignore_keys=ignore_keys, **gen_kwargs
        )
        if generated is not None and self.args.predict_with_generate:
            generated[:, : inputs["input_ids"].size(-1)] = self.processing_class.pad_token_id
            generated = generated.contiguous()
        return loss, generated, labels

    def prediction_rows(self, dataset: Any, results: Any, skip_special_tokens: bool = True) -> list[dict[str, str]]:
        """``{"prompt", "predict", "label"}`` per row, decoded as LLaMA-Factory writes generated_predictions.jsonl."""
        pad = self.processing_class.pad_token_id
        labels = np.where(results.label_ids != IGNORE_INDEX, results.label_ids, pad)
        preds = np.where(results.predictions != IGNORE_INDEX, results.predictions, pad)
        for i in range(len(preds)):
            real = np.nonzero(preds[i] != pad)[0]
            if len(real):
                preds[i] = np.concatenate((preds[i][real[0] :], preds[i][: real[0]]), axis=-1)
        decode = self.processing_class.batch_decode
        prompts = decode(list(dataset["input_ids"]), skip_special_tokens=False)
        predicted = decode(preds, skip_special_tokens=skip_special_tokens)
        expected = decode(labels, skip_special_tokens=skip_special_tokens)
        return [
            {"prompt": prompt, "predict": predict, "label": label}
            for prompt, predict, label in zip(prompts, predicted, expected, strict=True)
        ]
