"""Load the model a config names, ready to train or to generate, as LLaMA-Factory 0.9.5's ``load_model`` does.

``load_model(config, tokenizer, is_trainable=...)`` reads ``model_name_or_path`` (dtype, attention, RoPE scaling,
Liger kernels, bitsandbytes quantization: :mod:`.settings`), resizes the embeddings for added tokens, prepares the
model for training (:mod:`.prepare`) and applies ``finetuning_type`` and ``adapter_name_or_path``
(:mod:`.adapters`). Every failure a user can cause is a :class:`ModelLoadError` that names the key.
"""

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .adapters import adapter_paths, init_adapter
from .errors import ModelLoadError
from .prepare import fix_generation_config, prepare_for_training, resize_embeddings
from .settings import (
    apply_liger_kernel,
    attention_implementation,
    compute_dtype,
    quantization_kwargs,
    rope_scaling,
    uses_accelerator,
)
from .tokenizer import split_tokens

if TYPE_CHECKING:
    from lmf_engine.config import Config

log = logging.getLogger(__name__)

__all__ = ["ModelLoadError", "count_parameters", "hub_kwargs", "load_model", "load_model_config"]


def hub_kwargs(config: "Config") -> dict[str, Any]:
    """Arguments every ``from_pretrained`` call of the model takes (remote code, cache, revision, token)."""
    kwargs: dict[str, Any] = {
        "trust_remote_code": config.get("trust_remote_code"),
        "cache_dir": config.get("cache_dir"),
        "revision": config.get("model_revision"),
        "token": config.get("hf_hub_token"),
    }
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in {"1", "true", "yes", "on"}:
        kwargs["local_files_only"] = True
    return kwargs


def _model_path(config: "Config") -> str:
    path = config.get("model_name_or_path")
    if not path:
        raise ModelLoadError("model_name_or_path is not set: name a local model folder or a hub id")
    folder = Path(path)
    if folder.is_dir():
        if not (folder / "config.json").is_file():
            raise ModelLoadError(f"model_name_or_path: {path!r} is not a model folder (it has no config.json)")
    elif folder.exists():
        raise ModelLoadError(f"model_name_or_path: {path!r} is a file, not a model folder")
    elif folder.is_absolute() or path.startswith(".") or "local_files_only" in hub_kwargs(config):
        raise ModelLoadError(f"model_name_or_path: {path!r} does not exist")
    return path


def load_model_config(config: "Config") -> Any:
    """The transformers config of ``model_name_or_path``."""
    from transformers import AutoConfig

    path = _model_path(config)
    try:
        return AutoConfig.from_pretrained(path, **hub_kwargs(config))
    except Exception as exc:
        raise ModelLoadError(
            f"model_name_or_path: cannot read a model config from {path!r}: {type(exc).__name__}: {exc}"
        ) from None


def count_parameters(model: Any) -> tuple[int, int]:
    """(trainable, all) parameter counts; 4-bit weights count twice (two values per stored byte)."""
    trainable = total = 0
    for param in model.parameters():
        count = param.numel()
        if count == 0 and hasattr(param, "ds_numel"):
            count = param.ds_numel
        if type(param).__name__ == "Params4bit":
            count *= 2
        total += count
        if param.requires_grad:
            trainable += count
    return trainable, total


OMNI_MODEL_TYPES = ("qwen2_5_omni", "qwen3_omni_moe")
"""Speech-generating models of which only the thinker (the text-writing part) is trained and served."""


def model_class(hf_config: Any) -> Any:
    """The auto class that loads the model, as LLaMA-Factory picks it: image-text-to-text for a vision-language
    model, sequence-to-sequence for an audio-language one (Qwen2-Audio), text-to-waveform for Qwen-Omni (whose
    thinker is then kept), else causal LM."""
    from transformers import (
        AutoModelForCausalLM,
        AutoModelForImageTextToText,
        AutoModelForSeq2SeqLM,
        AutoModelForTextToWaveform,
    )

    if type(hf_config) in AutoModelForImageTextToText._model_mapping:
        return AutoModelForImageTextToText
    if type(hf_config) in AutoModelForSeq2SeqLM._model_mapping:
        return AutoModelForSeq2SeqLM
    if getattr(hf_config, "model_type", None) in OMNI_MODEL_TYPES:
        return AutoModelForTextToWaveform
    return AutoModelForCausalLM


def _from_pretrained(config: "Config", hf_config: Any, kwargs: dict[str, Any]) -> Any:
    path = config.get("model_name_or_path")
    load_class = model_class(hf_config)
    if getattr(hf_config, "text_config", None) and not getattr(hf_config, "hidden_size", None):
        hf_config.hidden_size = getattr(hf_config.text_config, "hidden_size", None)  # for value heads and ZeRO-3
    try:
        if config.get("train_from_scratch"):
            model = load_class.from_config(hf_config, trust_remote_code=config.get("trust_remote_code"), **kwargs)
        else:
            model = load_class.from_pretrained(path, config=hf_config, **hub_kwargs(config), **kwargs)
        return model.thinker if getattr(hf_config, "model_type", None) in OMNI_MODEL_TYPES else model
    except ModelLoadError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        kinds = {
            "AutoModelForImageTextToText": "vision-language",
            "AutoModelForSeq2SeqLM": "sequence-to-sequence",
            "AutoModelForTextToWaveform": "Qwen-Omni",
        }
        kind = kinds.get(load_class.__name__, "causal language")
        raise ModelLoadError(
            f"model_name_or_path: cannot load a {kind} model from {path!r}: {type(exc).__name__}: {exc}"
        ) from None


def load_model(
    config: "Config", tokenizer: Any, *, is_trainable: bool, add_valuehead: bool = False, adapters: bool = True
) -> Any:
    """The config's model, with its adapters, in train mode (``is_trainable``) or frozen in eval mode.

    With ``add_valuehead`` the result is a :class:`lmf_engine.model.valuehead.ValueHeadModel` whose head is loaded
    from the last adapter folder (or the model folder) when one was saved there. Without ``adapters`` it is the bare
    base model: ``finetuning_type`` and ``adapter_name_or_path`` are left to the caller (see
    :func:`.adapters.attach_adapters`).
    """
    hf_config = load_model_config(config)
    dtype = compute_dtype(config, hf_config, is_trainable)
    rope_scaling(config, hf_config, is_trainable)
    apply_liger_kernel(config, hf_config, is_trainable)
    kwargs: dict[str, Any] = {"dtype": dtype, **quantization_kwargs(config, hf_config, dtype)}
    if attention := attention_implementation(config):
        kwargs["attn_implementation"] = attention
    if not is_trainable and uses_accelerator(config) and "device_map" not in kwargs:
        kwargs.update(device_map="auto", offload_folder=config.get("offload_folder"))
    model = _from_pretrained(config, hf_config, kwargs)
    fix_generation_config(model)
    resize = bool(
        config.get("resize_vocab")
        or split_tokens(config.get("add_tokens"))
        or split_tokens(config.get("add_special_tokens"))
    )
    if resize:
        resize_embeddings(model, tokenizer)
    if is_trainable:
        prepare_for_training(model, config)
    if adapters:
        model = init_adapter(model, config, is_trainable, resized_vocab=resize)
    if add_valuehead:
        from .valuehead import add_value_head

        paths = adapter_paths(config)
        model = add_value_head(model, paths[-1] if paths else config.get("model_name_or_path"))
    if is_trainable:
        model.train()
    else:
        model.requires_grad_(False)
        model.eval()
    trainable, total = count_parameters(model)
    if is_trainable:
        share = 100 * trainable / max(total, 1)
        log.info("trainable params: %s || all params: %s || trainable%%: %.4f", f"{trainable:,}", f"{total:,}", share)
    else:
        log.info("all params: %s", f"{total:,}")
    if config.get("print_param_status") and int(os.environ.get("LOCAL_RANK", "0")) == 0:
        for name, param in model.named_parameters():
            print(f"name: {name}, dtype: {param.dtype}, device: {param.device}, trainable: {param.requires_grad}")
    return model
