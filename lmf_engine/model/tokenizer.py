"""Load the tokenizer a config names, the way LLaMA-Factory 0.9.5 loads and patches it.

Only local folders and a reachable hub work; an unreachable hub or a missing folder is a :class:`ModelLoadError`
that names ``model_name_or_path`` and what to do, never a traceback from deep inside transformers.
"""

import os
from types import MethodType
from typing import TYPE_CHECKING, Any

from .errors import ModelLoadError

if TYPE_CHECKING:
    from lmf_engine.config import Config

__all__ = ["ModelLoadError", "load_tokenizer", "split_tokens"]


def split_tokens(value: str | None) -> list[str]:
    """``add_tokens`` / ``add_special_tokens`` as LLaMA-Factory reads them: comma separated, stripped."""
    return [token.strip() for token in value.split(",")] if value else []


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in {"1", "true", "yes", "on"}


def load_tokenizer(config: "Config") -> Any:
    """The config's tokenizer: padding on the right, ``add_tokens``/``add_special_tokens`` added.

    Sets ``model_max_length`` to at least ``cutoff_len`` (as LLaMA-Factory does) so long rows do not warn.
    """
    from transformers import AutoTokenizer, PreTrainedTokenizerBase

    path = config.get("model_name_or_path")
    if not path:
        raise ModelLoadError("`model_name_or_path` is not set: name a local model folder or a hub id")
    kwargs: dict[str, Any] = {
        "trust_remote_code": config.get("trust_remote_code"),
        "cache_dir": config.get("cache_dir"),
        "revision": config.get("model_revision"),
        "token": config.get("hf_hub_token"),
    }
    if not os.path.isdir(path) and _offline():
        kwargs["local_files_only"] = True
    try:
        try:
            tokenizer = AutoTokenizer.from_pretrained(
                path,
                use_fast=config.get("use_fast_tokenizer"),
                split_special_tokens=config.get("split_special_tokens"),
                padding_side="right",
                **kwargs,
            )
        except ValueError:
            tokenizer = AutoTokenizer.from_pretrained(
                path, use_fast=not config.get("use_fast_tokenizer"), padding_side="right", **kwargs
            )
    except Exception as exc:
        where = (
            "a local folder" if os.path.isdir(path) else "not a local folder, and the hub is unreachable or lacks it"
        )
        raise ModelLoadError(
            f"model_name_or_path: cannot load a tokenizer from {path!r} ({where}): {type(exc).__name__}: {exc}"
        ) from None
    if "PreTrainedTokenizerBase" not in str(tokenizer._pad.__func__):
        tokenizer._pad = MethodType(PreTrainedTokenizerBase._pad, tokenizer)
    cutoff = config.get("cutoff_len")
    if cutoff and tokenizer.model_max_length < cutoff:
        tokenizer.model_max_length = cutoff
    if tokens := split_tokens(config.get("add_tokens")):
        tokenizer.add_tokens(new_tokens=tokens, special_tokens=False)
    if tokens := split_tokens(config.get("add_special_tokens")):
        tokenizer.add_tokens(new_tokens=tokens, special_tokens=True)
    return tokenizer
