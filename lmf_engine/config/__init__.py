"""Typed, LLaMA-Factory-compatible configuration: groups, loading, validation, schema and saving."""

from .errors import ConfigError, ConfigIssue
from .fields import FieldInfo
from .groups import GROUP_CLASSES, Config, all_fields, field_index, known_unsupported
from .loader import check_config, load_config

__all__ = [
    "GROUP_CLASSES",
    "Config",
    "ConfigError",
    "ConfigIssue",
    "FieldInfo",
    "all_fields",
    "check_config",
    "field_index",
    "known_unsupported",
    "load_config",
]
