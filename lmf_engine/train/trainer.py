"""What every stage's trainer adds to transformers/trl trainers: LoRA+ and LLaMA-Factory's other optimizers
(:mod:`.optimizers`: GaLore, APOLLO, BAdam, Adam-mini, Muon), the warmup-stable-decay defaults,
``disable_shuffling``, FP8 mixed precision for its accelerator (:mod:`.fp8`), and failing fast on a non-finite loss.

Mix :class:`WorkbenchTrainerMixin` in before the trainer class (``class T(WorkbenchTrainerMixin, Trainer)``) and
pass ``lmf_config=config``.
"""

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from lmf_engine.config import Config

log = logging.getLogger(__name__)


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite."""


def loraplus_param_groups(trainer: Any, model: Any, config: "Config") -> list[dict[str, Any]]:
    """LoRA+ groups: A matrices at the learning rate, B matrices (and 1-d parameters) at ``loraplus_lr_ratio`` times
    it, embedding B matrices at ``loraplus_lr_embedding``."""
    args = trainer.args
    decay = set(trainer.get_decay_parameter_names(model))
    groups: dict[str, list[Any]] = {"lora_a": [], "lora_b": [], "lora_b_nodecay": [], "embedding": []}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if "lora_embedding_B" in name:
            groups["embedding"].append(param)
        elif "lora_B" in name or param.ndim == 1:
            groups["lora_b" if name in decay else "lora_b_nodecay"].append(param)
        else:
            groups["lora_a"].append(param)
    b_lr = args.learning_rate * config.get("loraplus_lr_ratio")
    return [
        {"params": groups["lora_a"], "lr": args.learning_rate, "weight_decay": args.weight_decay},
        {"params": groups["lora_b"], "lr": b_lr, "weight_decay": args.weight_decay},
        {"params": groups["lora_b_nodecay"], "lr": b_lr, "weight_decay": 0.0},
        {"params": groups["embedding"], "lr": config.get("loraplus_lr_embedding"), "weight_decay": args.weight_decay},
    ]


class WorkbenchTrainerMixin:
    """See the module docstring."""

    def __init__(self, *args: Any, lmf_config: "Config", **kwargs: Any) -> None:
        self.lmf_config = lmf_config
        super().__init__(*args, **kwargs)
        if lmf_config.get("use_badam"):
            from .optimizers import setup_badam

            setup_badam(self)

    def _build_accelerator_args(self, **kwargs: Any) -> dict[str, Any]:
        from .fp8 import fp8_accelerator_args

        return fp8_accelerator_args(self.lmf_config, super()._build_accelerator_args(**kwargs))

    def create_optimizer(self, *args: Any, **kwargs: Any) -> "torch.optim.Optimizer":
        if self.optimizer is None:
            from .optimizers import custom_optimizer

            self.optimizer = custom_optimizer(self.model, self.args, self.lmf_config)
        if self.optimizer is None and self.lmf_config.get("loraplus_lr_ratio") is not None:
            from transformers import Trainer

            if self.lmf_config.get("finetuning_type") != "lora":
                raise ValueError("loraplus_lr_ratio: LoRA+ needs finetuning_type: lora")
            optim_cls, optim_kwargs = Trainer.get_optimizer_cls_and_kwargs(self.args, self.model)
            self.optimizer = optim_cls(loraplus_param_groups(self, self.model, self.lmf_config), **optim_kwargs)
            log.info("Using the LoRA+ optimizer with lr ratio %.2f.", self.lmf_config.get("loraplus_lr_ratio"))
        return super().create_optimizer(*args, **kwargs)

    def create_scheduler(self, num_training_steps: int, optimizer: Any = None) -> Any:
        if self.args.lr_scheduler_type == "warmup_stable_decay":
            remaining = num_training_steps - self.args.get_warmup_steps(num_training_steps)
            kwargs = dict(self.args.lr_scheduler_kwargs or {})
            kwargs.setdefault("num_stable_steps", remaining // 3)
            kwargs.setdefault("num_decay_steps", remaining - remaining // 3)
            self.args.lr_scheduler_kwargs = kwargs
        from .optimizers import attach_layerwise_schedulers

        attach_layerwise_schedulers(self.optimizer if optimizer is None else optimizer, self.args, num_training_steps)
        return super().create_scheduler(num_training_steps, optimizer)

    def _get_train_sampler(self, *args: Any, **kwargs: Any) -> Any:
        if self.lmf_config.get("disable_shuffling") and self.train_dataset is not None:
            import torch

            return torch.utils.data.SequentialSampler(self.train_dataset)
        return super()._get_train_sampler(*args, **kwargs)

    def training_step(self, *args: Any, **kwargs: Any) -> "torch.Tensor":
        import torch

        loss = super().training_step(*args, **kwargs)
        if not bool(torch.isfinite(loss).all()):
            raise NonFiniteLossError(
                f"the training loss became {loss.item()} at step {self.state.global_step + 1}: training diverged; "
                "lower learning_rate, raise warmup, keep max_grad_norm on, or use bf16 instead of fp16"
            )
        return loss
