"""LLaMA Pro: block expansion of a model, and which blocks train afterwards (``use_llama_pro``).

:func:`expand_model` writes what LLaMA-Factory's ``scripts/llama_pro.py`` writes: for ``num_expand`` N over L
layers, after every L/N original layers a copy of the last of them is inserted whose attention output
(``o_proj``) and MLP output (``down_proj``) weights are zero, so each new block passes its input through unchanged
and the expanded model computes what the original computed. Layers are renumbered and ``num_hidden_layers`` (and
``layer_types``) updated; the tokenizer is saved with the weights.

With ``use_llama_pro`` the ``freeze_trainable_layers`` expanded blocks train (:func:`expanded_layer_ids`): freeze
tuning trains them whole, LoRA/OFT go only on their modules (:func:`expanded_modules`).
"""

import copy
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ModelLoadError

log = logging.getLogger(__name__)

ZEROED = ("o_proj", "down_proj")
"""The output projections of attention and MLP: zero in a new block, so the block adds nothing to the residual."""


def expanded_layer_ids(num_layers: int, num_expanded: int) -> range:
    """Indices of the expanded blocks in a model of ``num_layers`` made with ``num_expand = num_expanded``: the last
    layer of every group of ``num_layers / num_expanded``."""
    if num_expanded <= 0 or num_layers % num_expanded:
        raise ModelLoadError(
            f"freeze_trainable_layers: with use_llama_pro it is the number of expanded blocks and must divide the "
            f"model's {num_layers} layers; {num_expanded} does not"
        )
    stride = num_layers // num_expanded
    return range(stride - 1, num_layers, stride)


def expanded_modules(model: Any, targets: list[str], num_expanded: int) -> list[str]:
    """Full names of the ``targets`` modules inside the expanded blocks (adapter targets under ``use_llama_pro``)."""
    num_layers = getattr(model.config, "num_hidden_layers", None)
    if not num_layers:
        raise ModelLoadError("use_llama_pro: the model config has no num_hidden_layers")
    ids = expanded_layer_ids(num_layers, num_expanded)
    markers = [f".{idx:d}." for idx in ids]
    names = [
        name
        for name, _ in model.named_modules()
        if any(target in name for target in targets) and any(marker in name for marker in markers)
    ]
    log.info("Apply adapters to the expanded layers: %s.", ",".join(map(str, ids)))
    return names


@dataclass(frozen=True)
class Expansion:
    """What :func:`expand_model` wrote."""

    output_dir: Path
    num_layers: int
    expanded_layers: tuple[int, ...]


def _decoder_layers(model: Any, num_layers: int) -> tuple[Any, str, Any]:
    """(parent module, attribute name, ModuleList) of the model's decoder layers."""
    import torch

    for name, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == num_layers and name:
            parent_name, _, attribute = name.rpartition(".")
            return model.get_submodule(parent_name), attribute, module
    raise ModelLoadError(f"llama-pro: cannot find the model's {num_layers} decoder layers")


def _identity_copy(layer: Any) -> Any:
    """A copy of ``layer`` whose attention and MLP output projections are zero."""
    import torch

    new = copy.deepcopy(layer)
    zeroed = set()
    with torch.no_grad():
        for name, param in new.named_parameters():
            kind = next((part for part in ZEROED if part in name), None)
            if kind is not None:
                param.zero_()
                zeroed.add(kind)
    if zeroed != set(ZEROED):
        raise ModelLoadError(
            "llama-pro: the decoder layers have no o_proj and down_proj projections to zero; block expansion "
            "supports Llama-like models (as LLaMA-Factory's scripts/llama_pro.py)"
        )
    return new


def _renumber(layers: list[Any]) -> None:
    for index, layer in enumerate(layers):
        for module in layer.modules():
            if isinstance(getattr(module, "layer_idx", None), int):
                module.layer_idx = index


def expand_model(
    model_path: str,
    output_dir: str | Path,
    num_expand: int,
    *,
    shard_size: str = "5GB",
    trust_remote_code: bool = False,
) -> Expansion:
    """Write ``model_path`` with ``num_expand`` identity blocks added (see the module docstring) to ``output_dir``."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    try:
        hf_config = AutoConfig.from_pretrained(model_path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"llama-pro: cannot read a model config from {model_path!r}: {exc}") from None
    num_layers = getattr(hf_config, "num_hidden_layers", None)
    if not num_layers:
        raise ModelLoadError(f"llama-pro: the config of {model_path!r} has no num_hidden_layers")
    if num_expand <= 0 or num_layers % num_expand:
        raise ModelLoadError(f"llama-pro: --num-expand {num_expand} must divide the model's {num_layers} layers")
    tokenizer = AutoTokenizer.from_pretrained(model_path, trust_remote_code=trust_remote_code)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype="auto", trust_remote_code=trust_remote_code)
    parent, attribute, layers = _decoder_layers(model, num_layers)
    split = num_layers // num_expand
    new_layers: list[Any] = []
    layer_types = getattr(model.config, "layer_types", None)
    new_types: list[Any] = []
    for index, layer in enumerate(layers):
        new_layers.append(layer)
        if layer_types is not None:
            new_types.append(layer_types[index])
        if (index + 1) % split == 0:
            new_layers.append(_identity_copy(layer))
            if layer_types is not None:
                new_types.append(layer_types[index])
            log.info("Layer %d is a copy of layer %d with zero output projections.", len(new_layers) - 1, index)
    _renumber(new_layers)
    setattr(parent, attribute, torch.nn.ModuleList(new_layers))
    model.config.num_hidden_layers = len(new_layers)
    if layer_types is not None:
        model.config.layer_types = new_types
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output, max_shard_size=shard_size)
    tokenizer.save_pretrained(output)
    expanded = tuple(expanded_layer_ids(len(new_layers), num_expand))
    return Expansion(output_dir=output, num_layers=len(new_layers), expanded_layers=expanded)
