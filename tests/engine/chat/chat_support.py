"""Test helpers for the chat engines and the API: tiny-model configs."""

from pathlib import Path
from typing import Any

from lmf_engine.config import Config, load_config


def tiny_config(model_dir: Path, **values: Any) -> Config:
    """A chat config for the tiny model (template qwen, short answers) with ``values`` on top."""
    base: dict[str, Any] = {"model_name_or_path": str(model_dir), "template": "qwen", "max_new_tokens": 8}
    return load_config(values={**base, **values})
