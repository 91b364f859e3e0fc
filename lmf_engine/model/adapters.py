"""Which parameters train: LoRA (and DoRA, rsLoRA, PiSSA), OFT, freeze tuning, or full tuning.

Semantics are LLaMA-Factory 0.9.5's ``model/adapter.py``: ``lora_target: all`` is every linear layer except the output
head; OFT (peft's ``OFTConfig``: ``oft_rank``, ``oft_block_size``, ``module_dropout``) goes on the same modules as LoRA
would, ``lora_target``'s, since LLaMA-Factory never reads ``oft_target``; freeze tuning trains the last (or first)
``freeze_trainable_layers`` layers' ``freeze_trainable_modules`` plus ``freeze_extra_modules``; a composite
(multimodal) model's parts follow the freeze switches (:mod:`.composite`); trainable parameters
are upcast to float32 unless ``pure_bf16`` or ``use_badam`` (or DeepSpeed ZeRO-3 without quantization). Earlier
adapters in ``adapter_name_or_path`` are merged; the last one is trained further unless ``create_new_adapter``. With
``use_llama_pro`` only the expanded blocks train (:mod:`.llama_pro`).
"""

import json
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .composite import frozen_parts, lora_modules, matches, parts_of
from .errors import ModelLoadError
from .llama_pro import expanded_layer_ids, expanded_modules
from .tokenizer import split_tokens

if TYPE_CHECKING:
    from lmf_engine.config import Config

log = logging.getLogger(__name__)

ADAPTER_CONFIG = "adapter_config.json"
HEAD_NAMES = {"chatglm": "output_layer", "internlm2": "output"}
"""Output heads named otherwise than ``lm_head`` (never LoRA targets)."""


def _checkpoint_number(path: Path) -> int:
    return int(path.name.rsplit("-", 1)[1]) if re.fullmatch(r"checkpoint-\d+", path.name) else -1


def resolve_adapter(path: str) -> str:
    """A folder holding ``adapter_config.json``: ``path`` itself or, for a run folder, its newest checkpoint."""
    folder = Path(path)
    if (folder / ADAPTER_CONFIG).is_file():
        return path
    if folder.is_dir():
        checkpoints = [p for p in folder.glob("checkpoint-*") if (p / ADAPTER_CONFIG).is_file()]
        if checkpoints:
            return str(max(checkpoints, key=_checkpoint_number))
        raise ModelLoadError(
            f"adapter_name_or_path: {path!r} holds no {ADAPTER_CONFIG} (not a LoRA adapter, nor a run folder "
            "with adapter checkpoints); a full or freeze run's output is a model: use it as model_name_or_path"
        )
    if folder.is_absolute() or path.startswith(".") or os.environ.get("HF_HUB_OFFLINE", "0") in ("1", "true"):
        raise ModelLoadError(f"adapter_name_or_path: {path!r} does not exist")
    return path


def adapter_paths(config: "Config") -> list[str]:
    """``adapter_name_or_path`` split on commas, each resolved with :func:`resolve_adapter`."""
    return [resolve_adapter(p) for p in split_tokens(config.get("adapter_name_or_path"))]


def read_adapter_config(path: str, subfolder: str | None = None) -> dict[str, Any] | None:
    """The ``adapter_config.json`` of a local adapter folder (in ``subfolder`` when given); None if unreadable."""
    folder = Path(path) / subfolder if subfolder else Path(path)
    try:
        data = json.loads((folder / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def adapter_type(path: str, subfolder: str | None = None) -> str:
    """peft's type of the adapter at ``path`` (``LORA``, ``OFT`` ...; ``LORA`` when its config does not say)."""
    return (read_adapter_config(path, subfolder) or {}).get("peft_type", "LORA")


def _adapter_base(path: str) -> str | None:
    return (read_adapter_config(path) or {}).get("base_model_name_or_path")


def _load_adapter(model: Any, path: str, config: "Config", is_trainable: bool, name: str = "default") -> Any:
    """``model`` with the adapter at ``path`` added under ``name`` (unmerged); a PeftModel takes it in place."""
    from peft import PeftModel

    kwargs: dict[str, Any] = {
        "is_trainable": is_trainable,
        "subfolder": config.get("adapter_folder"),
        "offload_folder": config.get("offload_folder"),
        "cache_dir": config.get("cache_dir"),
        "revision": config.get("model_revision"),
        "token": config.get("hf_hub_token"),
    }
    try:
        if isinstance(model, PeftModel):
            model.load_adapter(path, name, **kwargs)
            return model
        return PeftModel.from_pretrained(model, path, adapter_name=name, **kwargs)
    except Exception as exc:
        base = _adapter_base(path)
        hint = f" It was trained on {base!r}; is model_name_or_path the same base model?" if base else ""
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        mismatch = next((line for line in lines if line.startswith("size mismatch")), None)
        reason = f"its weights do not fit the model ({mismatch})" if mismatch else f"{type(exc).__name__}: {lines[0]}"
        raise ModelLoadError(f"adapter_name_or_path: cannot load the adapter {path!r}: {reason}.{hint}") from None


def find_all_linear_modules(model: Any, freeze_vision_tower: bool = True) -> list[str]:
    """Names (last component) of every linear layer except the output head, and for a composite model except its
    projector and (``freeze_vision_tower``) its vision tower: ``lora_target: all``."""
    forbidden = {"lm_head", HEAD_NAMES.get(getattr(model.config, "model_type", None), "lm_head")}
    if (parts := parts_of(model.config)) is not None:
        forbidden.update(parts.projector)
        if freeze_vision_tower:
            forbidden.update(parts.vision)
    names = set()
    for name, module in model.named_modules():
        if any(part in name for part in forbidden):
            continue
        kind = type(module).__name__
        if "Linear" in kind and "Embedding" not in kind:
            names.add(name.split(".")[-1])
    log.info("Found linear modules: %s", ",".join(sorted(names)))
    return sorted(names)


def _upcast(params: Any) -> None:
    import torch

    for param in params:
        if param.requires_grad:
            param.data = param.data.to(torch.float32)


def setup_freeze(model: Any, config: "Config") -> None:
    """Freeze everything but the chosen layers' modules and the extra modules."""
    text_config = getattr(model.config, "text_config", None) or model.config
    num_layers = next(
        (n for key in ("num_hidden_layers", "num_layers", "n_layer") if (n := getattr(text_config, key, None))), None
    )
    if not num_layers:
        raise ModelLoadError("finetuning_type: freeze tuning needs a model config with num_hidden_layers")
    count = config.get("freeze_trainable_layers")
    if config.get("use_llama_pro"):
        layer_ids = expanded_layer_ids(num_layers, count)
    elif count > 0:
        layer_ids = range(max(0, num_layers - count), num_layers)
    else:
        layer_ids = range(min(-count, num_layers))
    hidden_modules: set[str] = set()
    other_modules: set[str] = set()
    for name, _ in model.named_parameters():
        for marker in (".0.", ".1."):
            if marker in name:
                hidden_modules.add(name.split(marker)[-1].split(".")[0])
                break
        if re.search(r"\.\d+\.", name) is None:
            other_modules.add(name.split(".")[-2])
    trainable: list[str] = []
    for module in split_tokens(config.get("freeze_trainable_modules")):
        if module != "all" and module not in hidden_modules:
            raise ModelLoadError(
                f"freeze_trainable_modules: no module {module!r} in the layers; choose from "
                + ", ".join(sorted(hidden_modules))
            )
        trainable.extend(f".{idx:d}.{module if module != 'all' else ''}" for idx in layer_ids)
    for module in split_tokens(config.get("freeze_extra_modules")):
        if module not in other_modules:
            raise ModelLoadError(
                f"freeze_extra_modules: no module {module!r} outside the layers; choose from "
                + ", ".join(sorted(other_modules))
            )
        trainable.append(module)
    parts = parts_of(model.config)
    if parts is not None and not config.get("freeze_multi_modal_projector"):
        trainable.extend(parts.projector)
    frozen = frozen_parts(model.config, config)
    for name, param in model.named_parameters():
        if not matches(name, tuple(trainable)) or matches(name, frozen):
            param.requires_grad_(False)
    log.info("Trainable layers: %s", ",".join(trainable))


def _targets(model: Any, config: "Config", resized_vocab: bool) -> tuple[list[str], list[str] | None]:
    """The modules that get adapter weights (``lora_target``) and those that train fully (``additional_target``)."""
    targets = split_tokens(config.get("lora_target"))
    if targets == ["all"]:
        targets = find_all_linear_modules(model, config.get("freeze_vision_tower"))
    if config.get("use_llama_pro"):
        targets = expanded_modules(model, targets, config.get("freeze_trainable_layers"))
    targets = lora_modules(model, config, targets)
    extra = split_tokens(config.get("additional_target")) or None
    if resized_vocab and extra is None:
        embeddings = {model.get_input_embeddings(), model.get_output_embeddings()}
        extra = sorted({name.split(".")[-1] for name, module in model.named_modules() if module in embeddings})
        log.warning("The vocabulary was resized: %s train fully too.", ",".join(extra))
    return targets, extra


def oft_config(model: Any, config: "Config", resized_vocab: bool) -> Any:
    """peft's ``OFTConfig`` for new OFT weights, as LLaMA-Factory builds it (targets from ``lora_target``)."""
    from peft import OFTConfig, TaskType

    targets, extra = _targets(model, config, resized_vocab)
    if split_tokens(config.get("oft_target")) != split_tokens(config.get("lora_target")):
        log.warning(
            "oft_target (%s) is not used: OFT goes on lora_target's modules (%s), as in LLaMA-Factory 0.9.5.",
            config.get("oft_target"),
            config.get("lora_target"),
        )
    return OFTConfig(
        task_type=TaskType.CAUSAL_LM,
        inference_mode=False,
        r=config.get("oft_rank"),
        oft_block_size=config.get("oft_block_size"),
        target_modules=targets,
        module_dropout=config.get("module_dropout"),
        modules_to_save=extra,
    )


def _lora_config(model: Any, config: "Config", resized_vocab: bool) -> Any:
    from peft import LoraConfig, TaskType

    targets, extra = _targets(model, config, resized_vocab)
    kwargs: dict[str, Any] = {}
    if config.get("pissa_init"):
        iters = config.get("pissa_iter")
        kwargs["init_lora_weights"] = "pissa" if iters == -1 else f"pissa_niter_{iters}"
    return LoraConfig(
        task_type=TaskType.CAUSAL_LM,
        inference_mode=False,
        r=config.get("lora_rank"),
        target_modules=targets,
        lora_alpha=config.get("lora_alpha") or config.get("lora_rank") * 2,
        lora_dropout=config.get("lora_dropout"),
        use_rslora=config.get("use_rslora"),
        use_dora=config.get("use_dora"),
        modules_to_save=extra,
        **kwargs,
    )


def setup_lora(model: Any, config: "Config", is_trainable: bool, resized_vocab: bool) -> Any:
    """Merge/attach ``adapter_name_or_path``, then (training) add new LoRA or OFT weights (``finetuning_type``)
    unless one is resumed. A loaded adapter may be of either kind: peft reads it from its ``adapter_config.json``."""
    from peft import get_peft_model

    paths = adapter_paths(config)
    to_resume = None
    if paths:
        quantized = bool(getattr(model, "quantization_method", None))
        if quantized and len(paths) > 1:
            raise ModelLoadError("adapter_name_or_path: a quantized model takes a single adapter; merge them first")
        if (is_trainable and not config.get("create_new_adapter")) or quantized:
            paths, to_resume = paths[:-1], paths[-1]
        for path in paths:
            model = _load_adapter(model, path, config, is_trainable=False).merge_and_unload()
        if to_resume is not None:
            model = _load_adapter(model, to_resume, config, is_trainable=is_trainable)
        log.info("Loaded adapter(s): %s", config.get("adapter_name_or_path"))
    if is_trainable and to_resume is None:
        make_config = oft_config if config.get("finetuning_type") == "oft" else _lora_config
        try:
            model = get_peft_model(model, make_config(model, config, resized_vocab))
        except ValueError as exc:
            raise ModelLoadError(f"lora_target: {exc}") from None
    return model


def attach_adapters(model: Any, adapters: Sequence[tuple[str, str, "Config"]]) -> Any:
    """One frozen PeftModel in eval mode holding each ``(name, path, config)`` adapter unmerged under its name.

    For serving several adapters on one copy of the base weights (peft's mixed-adapter batches); ``config`` gives
    each adapter's ``adapter_folder`` and hub settings.
    """
    for name, path, config in adapters:
        model = _load_adapter(model, path, config, is_trainable=False, name=name)
    model.requires_grad_(False)
    return model.eval()


def init_adapter(model: Any, config: "Config", is_trainable: bool, resized_vocab: bool = False) -> Any:
    """Apply ``finetuning_type`` to ``model``; returns the model (a PeftModel for LoRA with adapters)."""
    from transformers.integrations import is_deepspeed_zero3_enabled

    method = config.get("finetuning_type")
    quantized = getattr(model, "quantization_method", None) is not None
    if is_trainable and quantized:
        if method not in ("lora", "oft"):
            raise ModelLoadError(f"finetuning_type: a quantized model trains with lora or oft only, not {method}")
        if config.get("pissa_init"):
            raise ModelLoadError("pissa_init: PiSSA cannot initialise adapters of a quantized model")
    upcast = (
        is_trainable
        and not config.get("pure_bf16")
        and not config.get("use_badam")
        and not (config.get("quantization_bit") is None and is_deepspeed_zero3_enabled())
    )
    if method in ("lora", "oft"):
        model = setup_lora(model, config, is_trainable, resized_vocab)
    elif is_trainable and method == "freeze":
        setup_freeze(model, config)
    elif is_trainable and method == "full":
        frozen = frozen_parts(model.config, config)
        for name, param in model.named_parameters():
            if matches(name, frozen):
                param.requires_grad_(False)
    if upcast:
        _upcast(model.parameters())
    log.info("Fine-tuning method: %s", "DoRA" if method == "lora" and config.get("use_dora") else method)
    return model
