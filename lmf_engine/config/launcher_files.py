"""Telling an accelerate (or FSDP) config and a DeepSpeed config from a training config, by their keys."""

from collections.abc import Mapping
from typing import Any, Literal

LauncherKind = Literal["accelerate", "deepspeed"]
ACCELERATE_KEYS = frozenset({"distributed_type", "compute_environment"})
DEEPSPEED_KEYS = frozenset({"zero_optimization"})
CONFIG_KEYS: dict[LauncherKind, str] = {"accelerate": "accelerate_config", "deepspeed": "deepspeed"}
"""The training config's key that names a file of each kind."""


def launcher_kind(values: Mapping[str, Any]) -> LauncherKind | None:
    """``deepspeed`` for a DeepSpeed config, ``accelerate`` for an accelerate / FSDP one, else None."""
    if DEEPSPEED_KEYS & values.keys():
        return "deepspeed"
    if ACCELERATE_KEYS & values.keys():
        return "accelerate"
    return None


def launcher_file_message(kind: LauncherKind, path: str) -> str:
    """What to say when a launcher config is given where a training config is expected."""
    article = "a DeepSpeed" if kind == "deepspeed" else "an accelerate"
    key = CONFIG_KEYS[kind]
    return (
        f"this is {article} config, not a training config: name it in your training config as `{key}: {path}` "
        f"(or add `{key}={path}` after the training config on the command line)"
    )
