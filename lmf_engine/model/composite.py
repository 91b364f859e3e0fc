"""Composite (multimodal) models: which modules are the vision tower, the projector and the language model.

The parts are data (``composite_models.toml``, LLaMA-Factory 0.9.5's registry) keyed by the transformers
``model_type``; each part is a list of name fragments, as LLaMA-Factory matches them (``fragment in name``). The
``freeze_vision_tower`` / ``freeze_multi_modal_projector`` / ``freeze_language_model`` keys freeze parts in full and
freeze tuning; LoRA never wraps the projector, nor a frozen tower, nor a part's ``lora_conflicts``.
"""

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lmf_engine.config import Config


@dataclass(frozen=True)
class CompositeParts:
    """Name fragments of a composite model's parts."""

    projector: tuple[str, ...]
    vision: tuple[str, ...]
    language: tuple[str, ...]
    lora_conflicts: tuple[str, ...] = ()


@cache
def composite_models() -> dict[str, CompositeParts]:
    """Every known composite model's parts, by ``model_type``."""
    text = resources.files(__package__).joinpath("composite_models.toml").read_text(encoding="utf-8")
    return {
        name: CompositeParts(**{key: tuple(value) for key, value in table.items()})
        for name, table in tomllib.loads(text).items()
    }


def parts_of(model_config: Any) -> CompositeParts | None:
    """The parts of a composite model (by its config's ``model_type``), None for a text-only model."""
    return composite_models().get(getattr(model_config, "model_type", None) or "")


def frozen_parts(model_config: Any, config: "Config") -> set[str]:
    """The name fragments the freeze switches freeze (empty for a text-only model)."""
    parts = parts_of(model_config)
    if parts is None:
        return set()
    frozen: set[str] = set()
    if config.get("freeze_vision_tower"):
        frozen.update(parts.vision)
    if config.get("freeze_multi_modal_projector"):
        frozen.update(parts.projector)
    if config.get("freeze_language_model"):
        frozen.update(parts.language)
    return frozen


def matches(name: str, fragments: set[str] | tuple[str, ...]) -> bool:
    """Whether a module or parameter name contains one of ``fragments``."""
    return any(fragment in name for fragment in fragments)


def lora_modules(model: Any, config: "Config", targets: list[str]) -> list[str]:
    """For a composite model, the full names of the modules matching ``targets`` outside its frozen parts and
    LoRA conflicts (so that a vision tower's ``qkv`` is not wrapped by ``lora_target: all``); ``targets`` as they
    are for a text-only model."""
    parts = parts_of(model.config)
    if parts is None:
        return targets
    forbidden = frozen_parts(model.config, config) | set(parts.lora_conflicts)
    return [name for name, _ in model.named_modules() if matches(name, targets) and not matches(name, forbidden)]


def media_token_types(input_ids: Any, model_config: Any) -> Any:
    """``mm_token_type_ids`` of ``input_ids``: 1 at the model's image token, 2 at its video token, 0 elsewhere (what
    Qwen-VL's multimodal RoPE reads in transformers 5)."""
    import torch

    types = torch.zeros_like(input_ids)
    for value, name in ((1, "image_token_id"), (2, "video_token_id")):
        token_id = getattr(model_config, name, None)
        if token_id is not None:
            types[input_ids == token_id] = value
    return types
