"""The whole config: one typed group per concern, addressed by LLaMA-Factory's flat key names."""

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from .data import DataConfig
from .evaluation import EvaluationConfig
from .export import ExportConfig
from .fields import FieldInfo, group_fields
from .finetuning import FinetuningConfig
from .generating import GeneratingConfig
from .model import ModelConfig
from .training import TrainingConfig

GROUP_CLASSES: dict[str, type] = {
    "model": ModelConfig,
    "data": DataConfig,
    "finetuning": FinetuningConfig,
    "training": TrainingConfig,
    "generating": GeneratingConfig,
    "evaluation": EvaluationConfig,
    "export": ExportConfig,
}


@dataclass
class Config:
    """A validated config. ``explicit`` holds the keys a file or override set, in the order they came."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    finetuning: FinetuningConfig = field(default_factory=FinetuningConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    generating: GeneratingConfig = field(default_factory=GeneratingConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    explicit: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        """The value of a flat key, e.g. ``config.get("lora_rank")``."""
        info = field_index()[key]
        return getattr(getattr(self, info.group), key)

    def to_flat(self, include_defaults: bool = True) -> dict[str, Any]:
        """All keys grouped in schema order, or only the explicitly set ones."""
        if not include_defaults:
            return dict(self.explicit)
        return {info.name: self.get(info.name) for info in all_fields()}


@cache
def all_fields() -> tuple[FieldInfo, ...]:
    """Every supported key, group by group."""
    return tuple(info for group, cls in GROUP_CLASSES.items() for info in group_fields(cls, group))


@cache
def field_index() -> dict[str, FieldInfo]:
    """Supported keys by name."""
    return {info.name: info for info in all_fields()}


@cache
def known_unsupported() -> frozenset[str]:
    """Keys LLaMA-Factory 0.9.5 accepts that lmf workbench does not support yet."""
    text = resources.files(__package__).joinpath("lf_keys.json").read_text(encoding="utf-8")
    groups = json.loads(text)
    names = {name for group, keys in groups.items() if not group.startswith("_") for name in keys}
    return frozenset(names - set(field_index()))
