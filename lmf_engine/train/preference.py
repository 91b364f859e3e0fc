"""What the dpo, kto and ppo stages share: the reference model (LLaMA-Factory's ``create_ref_model``) and, for the
dpo/kto trainers, reference log-probabilities and per-step metrics averaged into the trainer's logs."""

import copy
import logging
from collections import defaultdict
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from lmf_engine.config.finetuning import FinetuningConfig

if TYPE_CHECKING:
    import torch

    from lmf_engine.config import Config

log = logging.getLogger(__name__)


def derived_config(config: "Config", model: str, adapters: str | None, quantization_bit: int | None) -> "Config":
    """The config with another model, adapters and quantization, and default fine-tuning settings (to load a
    frozen reference or reward model as LLaMA-Factory's ``ModelArguments.copyfrom`` does)."""
    derived = copy.deepcopy(config)
    derived.model.model_name_or_path = model
    derived.model.adapter_name_or_path = adapters
    derived.model.quantization_bit = quantization_bit
    derived.finetuning = FinetuningConfig()
    return derived


def load_frozen_model(config: "Config", add_valuehead: bool = False) -> Any:
    """A model for inference only, with its own tokenizer loaded (for resized vocabularies)."""
    from lmf_engine.model.loader import load_model
    from lmf_engine.model.tokenizer import load_tokenizer

    return load_model(config, load_tokenizer(config), is_trainable=False, add_valuehead=add_valuehead)


def create_ref_model(config: "Config", add_valuehead: bool = False) -> Any:
    """The reference model: ``ref_model`` (+ ``ref_model_adapters``) when set; for LoRA None (the adapter is
    switched off instead); otherwise a frozen copy of the starting model."""
    ref_path = config.get("ref_model")
    if ref_path is not None:
        ref_config = derived_config(
            config, ref_path, config.get("ref_model_adapters"), config.get("ref_model_quantization_bit")
        )
        model = load_frozen_model(ref_config, add_valuehead)
        log.info("Created reference model from %s", ref_path)
        return model
    if config.get("finetuning_type") == "lora":
        return None
    ref_config = copy.deepcopy(config)
    ref_config.finetuning = FinetuningConfig()
    model = load_frozen_model(ref_config, add_valuehead)
    log.info("Created reference model from the model itself.")
    return model


def prepare_ref_model(trainer: Any, ref_model: Any) -> Any:
    """Place the reference model for the trainer's accelerator (DeepSpeed, FSDP or plain), in eval mode."""
    if ref_model is None:
        return None
    if trainer.is_deepspeed_enabled:
        from trl.models.utils import prepare_deepspeed

        quantized = getattr(ref_model, "is_loaded_in_8bit", False) or getattr(ref_model, "is_loaded_in_4bit", False)
        return ref_model if quantized else prepare_deepspeed(ref_model, trainer.accelerator)
    if trainer.is_fsdp_enabled:
        from trl.models.utils import prepare_fsdp

        return prepare_fsdp(ref_model, trainer.accelerator)
    ref_model = trainer.accelerator.prepare_model(ref_model, evaluation_mode=True)
    ref_model.eval()
    return ref_model


class PreferenceTrainerMixin:
    """For trainers with ``self.ref_model``: the reference forward context and stored per-batch metrics.

    Metrics stored with :meth:`store_metrics` are reduced over steps and processes and added to the next log
    (training logs have ``loss``; evaluation logs ``eval_loss``, and their metrics get the ``eval_`` prefix); keys
    listed in ``summed_metrics`` are summed, the others averaged.
    """

    ref_model: Any
    summed_metrics: tuple[str, ...] = ()

    def init_metrics(self) -> None:
        self._stored_metrics: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))

    def reference_context(self, model: Any) -> tuple[Any, Any]:
        """(model to run, context): the reference model, or the policy with its adapter switched off."""
        if self.ref_model is None:
            return model, self.accelerator.unwrap_model(model).disable_adapter()
        return self.ref_model, nullcontext()

    def store_metrics(self, metrics: dict[str, float], split: str) -> None:
        for key, value in metrics.items():
            self._stored_metrics[split][key].append(value)

    def reduced_metrics(self, split: str) -> dict[str, float]:
        """The stored metrics of ``split`` reduced over the steps and processes, then cleared."""
        import torch

        stored = self._stored_metrics.pop(split, {})
        if not stored:
            return {}
        keys = sorted(stored)
        values = [sum(stored[key]) / (1 if key in self.summed_metrics else len(stored[key])) for key in keys]
        tensor = torch.tensor(values, dtype=torch.float, device=self.accelerator.device)
        if self.accelerator.num_processes > 1:
            summed = self.accelerator.reduce(tensor, "sum")
            averaged = summed / self.accelerator.num_processes
            tensor = torch.where(
                torch.tensor([key in self.summed_metrics for key in keys], device=tensor.device), summed, averaged
            )
        return dict(zip(keys, tensor.tolist(), strict=True))

    def log(self, logs: dict[str, float], *args: Any, **kwargs: Any) -> None:
        split = "train" if "loss" in logs else "eval"
        prefix = "eval_" if split == "eval" else ""
        logs.update({prefix + key: value for key, value in self.finish_metrics(self.reduced_metrics(split)).items()})
        super().log(logs, *args, **kwargs)  # type: ignore[misc]

    def finish_metrics(self, metrics: dict[str, float]) -> dict[str, float]:
        """Turn the reduced metrics into what is logged (the dpo trainer logs them as they are)."""
        return metrics

    def compute_loss(
        self, model: Any, inputs: dict[str, "torch.Tensor"], return_outputs: bool = False, **kwargs: Any
    ) -> Any:
        loss, metrics = self.batch_loss_metrics(model, inputs, "train")
        self.store_metrics(metrics, "train")
        return (loss, metrics) if return_outputs else loss

    def prediction_step(
        self, model: Any, inputs: dict[str, Any], prediction_loss_only: bool, ignore_keys: list[str] | None = None
    ) -> tuple["torch.Tensor", None, None]:
        import torch

        inputs = self._prepare_inputs(inputs)
        with torch.no_grad(), self.compute_loss_context_manager():
            loss, metrics = self.batch_loss_metrics(model, inputs, "eval")
        self.store_metrics(metrics, "eval")
        return loss.detach(), None, None

    def batch_loss_metrics(
        self, model: Any, inputs: dict[str, "torch.Tensor"], split: str
    ) -> tuple["torch.Tensor", dict[str, float]]:
        """The loss of a batch and the metrics to store (implemented by each trainer)."""
        raise NotImplementedError
