"""LLaMA-Factory 0.9.5's optimizers: GaLore (``use_galore``), APOLLO (``use_apollo``), BAdam (``use_badam``),
Adam-mini (``use_adam_mini``) and Muon (``use_muon``), built from the trainer's arguments as LLaMA-Factory builds them.

When several are asked for, the first of GaLore, APOLLO, LoRA+, BAdam, Adam-mini, Muon wins, as in LLaMA-Factory
(the config rules refuse GaLore, APOLLO and BAdam together, and with LoRA).
"""

import importlib
import logging
from typing import TYPE_CHECKING, Any

from lmf_engine.config.optimizer_extras import (
    APOLLO_CLASSES,
    GALORE_CLASSES,
    OPTIMIZER_PACKAGES,
    OptimizerPackageMissing,
)
from lmf_engine.util.packages import installed

if TYPE_CHECKING:
    import torch

    from lmf_engine.config import Config

log = logging.getLogger(__name__)

PRECEDENCE = ("use_galore", "use_apollo", "loraplus_lr_ratio", "use_badam", "use_adam_mini", "use_muon")
"""The optimizer keys in the order LLaMA-Factory's ``create_custom_optimizer`` tries them."""


def chosen_optimizer(config: "Config") -> str | None:
    """The key of the optimizer LLaMA-Factory would build for ``config`` (None: the trainer's own ``optim``)."""
    asked = [key for key in PRECEDENCE if config.get(key) not in (None, False)]
    if len(asked) > 1:
        log.warning("%s takes precedence over %s (as in LLaMA-Factory).", asked[0], ", ".join(asked[1:]))
    return asked[0] if asked else None


def _package(key: str) -> Any:
    """The optimizer package ``key`` needs, imported; the one-line error naming the extra when it is missing."""
    package = next(p for p in OPTIMIZER_PACKAGES if p.key == key)
    if not installed(package.module):
        raise OptimizerPackageMissing(package.message)
    return importlib.import_module(package.module)


def decay_parameter_names(model: Any) -> set[str]:
    """LLaMA-Factory's weight-decay set: parameters outside ``nn.LayerNorm`` layers, biases excluded."""
    from transformers.pytorch_utils import ALL_LAYERNORM_LAYERS
    from transformers.trainer_pt_utils import get_parameter_names

    return {name for name in get_parameter_names(model, ALL_LAYERNORM_LAYERS) if "bias" not in name}


def _decay_split(model: Any, left_out: frozenset[int] = frozenset()) -> tuple[list[Any], list[Any]]:
    """The trainable parameters (but those whose ``id`` is in ``left_out``) with weight decay, and without."""
    decay_names = decay_parameter_names(model)
    decay, nodecay = [], []
    for name, param in model.named_parameters():
        if param.requires_grad and id(param) not in left_out:
            (decay if name in decay_names else nodecay).append(param)
    return decay, nodecay


def low_rank_params(model: Any, target: str) -> list["torch.nn.Parameter"]:
    """Trainable weight matrices of the ``nn.Linear`` modules whose name contains a target (``all``: every linear
    layer but the output head) — the parameters GaLore/APOLLO project."""
    import torch

    from lmf_engine.model.adapters import find_all_linear_modules

    targets = [part.strip() for part in target.split(",")]
    if targets == ["all"]:
        targets = find_all_linear_modules(model)
    found = []
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and any(t in name for t in targets):
            found.extend(p for p in module.parameters() if p.requires_grad and p.ndim > 1)
    return found


def _low_rank_optimizer(
    model: Any, args: Any, optim_class: type, projected: list[Any], projection: dict[str, Any], layerwise: bool
) -> "torch.optim.Optimizer":
    """GaLore/APOLLO: ``projected`` weights in a group with ``projection``'s settings, the other trainable
    parameters in a decay and a no-decay group; or, layer-wise, one optimizer per parameter."""
    from transformers import Trainer

    from .layerwise import LayerwiseOptimizer

    decay, nodecay = _decay_split(model, frozenset(id(p) for p in projected))
    _, optim_kwargs = Trainer.get_optimizer_cls_and_kwargs(args)
    groups = [
        ({"weight_decay": 0.0}, nodecay),
        ({"weight_decay": args.weight_decay}, decay),
        ({"weight_decay": args.weight_decay, **projection}, projected),
    ]
    if not layerwise:
        return optim_class([{"params": params, **settings} for settings, params in groups], **optim_kwargs)
    log.warning("The displayed gradient norm is zero in layer-wise training (gradients are freed during backward).")
    optimizers = {
        param: optim_class([{"params": [param], **settings}], **optim_kwargs)
        for settings, params in groups
        for param in params
    }
    return LayerwiseOptimizer(args.learning_rate, optimizers)


def galore_optimizer(model: Any, args: Any, config: "Config") -> "torch.optim.Optimizer":
    """``use_galore``: GaLore's AdamW, 8-bit AdamW or Adafactor by ``optim``."""
    galore = _package("use_galore")
    optim_class = getattr(galore, GALORE_CLASSES[args.optim])
    projection = {
        "rank": config.get("galore_rank"),
        "update_proj_gap": config.get("galore_update_interval"),
        "scale": config.get("galore_scale"),
        "proj_type": config.get("galore_proj_type"),
    }
    projected = low_rank_params(model, config.get("galore_target"))
    log.info("Using the GaLore optimizer with %s.", projection)
    return _low_rank_optimizer(model, args, optim_class, projected, projection, config.get("galore_layerwise"))


def apollo_optimizer(model: Any, args: Any, config: "Config") -> "torch.optim.Optimizer":
    """``use_apollo``: APOLLO's AdamW."""
    apollo = _package("use_apollo")
    optim_class = getattr(apollo, APOLLO_CLASSES[args.optim])
    projection = {
        "rank": config.get("apollo_rank"),
        "proj": config.get("apollo_proj"),
        "proj_type": config.get("apollo_proj_type"),
        "update_proj_gap": config.get("apollo_update_interval"),
        "scale": config.get("apollo_scale"),
        "scale_type": config.get("apollo_scale_type"),
        "scale_front": config.get("apollo_scale_front"),
    }
    projected = low_rank_params(model, config.get("apollo_target"))
    log.info("Using the APOLLO optimizer with %s.", projection)
    return _low_rank_optimizer(model, args, optim_class, projected, projection, config.get("apollo_layerwise"))


def badam_optimizer(model: Any, args: Any, config: "Config") -> "torch.optim.Optimizer":
    """``use_badam``: BAdam's block optimizer around the ``optim`` optimizer (layer mode), or its ratio optimizer."""
    from transformers import Trainer
    from transformers.integrations import is_deepspeed_zero3_enabled

    badam = _package("use_badam")
    decay, nodecay = _decay_split(model)
    groups = [{"params": nodecay, "weight_decay": 0.0}, {"params": decay, "weight_decay": args.weight_decay}]
    optim_class, optim_kwargs = Trainer.get_optimizer_cls_and_kwargs(args)
    if config.get("badam_mode") == "layer":
        log.info(
            "Using BAdam layer-wise: switch mode %s, a new block every %s steps, start block %s.",
            config.get("badam_switch_mode"),
            config.get("badam_switch_interval"),
            config.get("badam_start_block"),
        )
        return badam.BlockOptimizer(
            base_optimizer=optim_class(groups, **optim_kwargs),
            named_parameters_list=list(model.named_parameters()),
            block_prefix_list=None,
            switch_block_every=config.get("badam_switch_interval"),
            start_block=config.get("badam_start_block"),
            switch_mode=config.get("badam_switch_mode"),
            verbose=config.get("badam_verbose"),
            ds_zero3_enabled=is_deepspeed_zero3_enabled(),
        )
    names = [name for name, _ in model.named_parameters()]
    if not any("embed" in name for name in names) or not any("lm_head" in name for name in names):
        raise ValueError(
            "badam_mode: ratio needs a model with its own embedding and lm_head weights (BAdam freezes both), and "
            "this model ties its output head to the embedding; use badam_mode: layer"
        )
    log.info(
        "Using BAdam ratio-wise: update ratio %s, mask mode %s.",
        config.get("badam_update_ratio"),
        config.get("badam_mask_mode"),
    )
    return badam.BlockOptimizerRatio(
        param_groups=groups,
        named_parameters_list=list(model.named_parameters()),
        update_ratio=config.get("badam_update_ratio"),
        mask_mode=config.get("badam_mask_mode"),
        verbose=config.get("badam_verbose"),
        include_embedding=False,
        **optim_kwargs,
    )


def adam_mini_optimizer(model: Any, args: Any) -> "torch.optim.Optimizer":
    """``use_adam_mini``: Adam-mini, told the model's hidden size and attention heads."""
    from transformers.integrations import is_deepspeed_zero3_enabled
    from transformers.modeling_utils import is_fsdp_enabled

    adam_mini = _package("use_adam_mini")
    model_config = getattr(model, "config", None)
    log.info("Using the Adam-mini optimizer.")
    return adam_mini.Adam_mini(
        named_parameters=model.named_parameters(),
        lr=args.learning_rate,
        betas=(args.adam_beta1, args.adam_beta2),
        eps=args.adam_epsilon,
        weight_decay=args.weight_decay,
        model_sharding=is_fsdp_enabled() or is_deepspeed_zero3_enabled(),
        dim=getattr(model_config, "hidden_size", None),
        n_heads=getattr(model_config, "num_attention_heads", None),
        n_kv_heads=getattr(model_config, "num_key_value_heads", None),
    )


def muon_optimizer(model: Any, args: Any) -> "torch.optim.Optimizer":
    """``use_muon``: Muon for trainable 2-D weights other than embeddings and the head, AdamW for the rest."""
    from .muon import Muon

    muon_params, adamw_params = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            is_matrix = param.ndim == 2 and "embed" not in name and "lm_head" not in name
            (muon_params if is_matrix else adamw_params).append(param)
    log.info("Using the Muon optimizer: %d Muon and %d AdamW parameters.", len(muon_params), len(adamw_params))
    return Muon(
        muon_params,
        adamw_params,
        lr=args.learning_rate,
        weight_decay=args.weight_decay,
        adamw_betas=(args.adam_beta1, args.adam_beta2),
        adamw_eps=args.adam_epsilon,
    )


def distributed_problem(config: "Config", zero3: bool) -> str | None:
    """Why the optimizer ``config`` asks for cannot train on several processes (LLaMA-Factory's checks), or None."""
    for key, layerwise in (("use_galore", "galore_layerwise"), ("use_apollo", "apollo_layerwise")):
        if config.get(key) and config.get(layerwise):
            return f"{layerwise}: layer-wise training cannot be distributed; run one process or turn it off"
    if config.get("use_badam") and config.get("badam_mode") == "ratio":
        return "badam_mode: ratio cannot be distributed; use badam_mode: layer with DeepSpeed ZeRO-3"
    if config.get("use_badam") and not zero3:
        return "use_badam: distributed BAdam (badam_mode: layer) needs DeepSpeed ZeRO-3"
    return None


def custom_optimizer(model: Any, args: Any, config: "Config") -> "torch.optim.Optimizer | None":
    """The optimizer ``config`` asks for, or None for the trainer's own (``optim``, or LoRA+ when it wins)."""
    from transformers.integrations import is_deepspeed_zero3_enabled
    from transformers.training_args import ParallelMode

    if args.parallel_mode == ParallelMode.DISTRIBUTED:
        problem = distributed_problem(config, is_deepspeed_zero3_enabled())
        if problem is not None:
            raise ValueError(problem)
    key = chosen_optimizer(config)
    if key == "use_galore":
        return galore_optimizer(model, args, config)
    if key == "use_apollo":
        return apollo_optimizer(model, args, config)
    if key == "use_badam":
        return badam_optimizer(model, args, config)
    if key == "use_adam_mini":
        return adam_mini_optimizer(model, args)
    if key == "use_muon":
        return muon_optimizer(model, args)
    return None


def attach_layerwise_schedulers(optimizer: Any, args: Any, num_training_steps: int) -> None:
    """Give a layer-wise optimizer's per-parameter optimizers the run's learning-rate schedule.

    LLaMA-Factory 0.9.5 means to (``create_custom_scheduler``) but is handed no optimizer by transformers, so its
    layer-wise runs keep ``learning_rate`` constant; here they follow ``lr_scheduler_type`` and the warm-up.
    """
    from transformers.optimization import get_scheduler

    from .layerwise import LayerwiseOptimizer

    if not isinstance(optimizer, LayerwiseOptimizer):
        return
    warmup = args.get_warmup_steps(num_training_steps)
    optimizer.attach_schedulers(
        lambda inner: get_scheduler(
            args.lr_scheduler_type,
            optimizer=inner,
            num_warmup_steps=warmup,
            num_training_steps=num_training_steps,
            scheduler_specific_kwargs=args.lr_scheduler_kwargs,
        )
    )


def setup_badam(trainer: Any) -> None:
    """BAdam's trainer hooks (LLaMA-Factory's): its gradient clipping, which handles the ratio mode's sparse
    gradients, and its callback, which keeps gradient checkpointing working when only one block trains."""
    from types import MethodType

    badam = _package("use_badam")
    trainer.accelerator.clip_grad_norm_ = MethodType(badam.clip_grad_norm_old_version, trainer.accelerator)
    trainer.add_callback(badam.BAdamCallback)
