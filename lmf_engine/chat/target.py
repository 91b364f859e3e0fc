"""What a chat talks to: a run's result, a chat config, or an OpenAI-compatible server.

    target = ChatTarget("run", "runs/sft_lora")              # its base model + adapter, template and stop words
    target = ChatTarget("run", "runs/sft_lora", base_only=True)
    target = ChatTarget("config", "configs/chat.yaml", backend="vllm")
    target = ChatTarget("url", "http://gpu-box:8000/v1", key_env="MY_KEY", model="qwen")
    engine = open_target(target, root=workspace)              # heavy: loads the model

A server's API key is read from the environment variable the target names when the engine opens; the key itself
is never part of a target, so remembering a target (``to_dict``) never writes it anywhere.
"""

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

from lmf_engine.runs.launcher import RUNS_FOLDER

from .errors import ChatError

if TYPE_CHECKING:
    from lmf_engine.config import Config

    from .engine import ChatEngine

TargetKind = Literal["run", "config", "url"]
LOCAL_BACKENDS = ("huggingface", "vllm", "sglang")
PATH_KEYS = ("model_name_or_path", "adapter_name_or_path")
ENV_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class ChatTarget:
    """One thing to chat with. ``where`` is a run folder, a config file or a server URL (by ``kind``).

    ``backend`` (huggingface, vllm or sglang) replaces a run's or config's ``infer_backend`` when set; ``base_only``
    chats with a run's base model without its adapter; ``key_env`` names the environment variable with a server's API
    key and ``model`` the model to ask a server for (default: the first it lists).
    """

    kind: TargetKind
    where: str
    backend: str | None = None
    base_only: bool = False
    key_env: str | None = None
    model: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in get_args(TargetKind):
            raise ValueError(f"target kind must be one of {', '.join(get_args(TargetKind))}, not {self.kind!r}")
        if not self.where:
            raise ValueError("a target needs a run folder, a config file or a server URL")
        if self.backend is not None and self.backend not in LOCAL_BACKENDS:
            raise ValueError(f"backend must be {' or '.join(LOCAL_BACKENDS)}, not {self.backend!r}")
        if self.key_env is not None and (not self.key_env or not set(self.key_env) <= ENV_NAME_CHARS):
            raise ValueError(f"{self.key_env!r} is not an environment variable name (letters, digits and _)")

    @property
    def label(self) -> str:
        """A short name for lists and column titles."""
        if self.kind == "url":
            return f"{self.where} ({self.model})" if self.model else self.where
        name = Path(self.where).name if self.kind == "run" else self.where
        text = f"run {name}" + (" (base model)" if self.base_only else "") if self.kind == "run" else name
        return f"{text} [{self.backend}]" if self.backend else text

    def to_dict(self) -> dict[str, Any]:
        """The target as JSON-ready values (no key: only the variable's name)."""
        return {key: value for key, value in asdict(self).items() if value not in (None, False)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ChatTarget":
        """A target from :meth:`to_dict`'s values; ValueError when they do not make one."""
        known = {"kind", "where", "backend", "base_only", "key_env", "model"}
        values = {key: value for key, value in data.items() if key in known}
        if not isinstance(values.get("kind"), str) or not isinstance(values.get("where"), str):
            raise ValueError("a target needs `kind` and `where` texts")
        return cls(**cast("dict[str, Any]", values))


def _local(path: str, key: str, root: Path, where: Path) -> str:
    """``path`` made absolute when it is under ``root``; a missing one that points into the workspace is an error."""
    if not path or Path(path).is_absolute():
        return path
    if (root / path).exists():
        return str(root / path)
    first = Path(path).parts[0]
    if first in (".", "..", RUNS_FOLDER) or (root / first).is_dir():
        raise ChatError(f"{where}: {key}: {path} does not exist in {root} (train it first, or fix the path)")
    return path  # a hub id


def _resolved_paths(values: dict[str, Any], root: Path, where: Path) -> dict[str, Any]:
    """Relative model and adapter paths under ``root`` made absolute (hub ids are left as they are)."""
    out: dict[str, Any] = {}
    for key in PATH_KEYS:
        value = values.get(key)
        if not isinstance(value, str) or not value:
            continue
        parts = [part.strip() for part in value.split(",")]
        fixed = [_local(part, key, root, where) for part in parts]
        if fixed != parts:
            out[key] = ",".join(fixed)
    return out


def target_config(target: ChatTarget, root: Path | None = None) -> "Config | None":
    """The config a local target loads (None for a server); relative paths resolve against ``root`` (or the cwd).

    Raises :class:`~lmf_engine.config.ConfigError` for a bad config and
    :class:`~lmf_engine.runs.inference.RunConfigError` for a run folder that holds no trained result.
    """
    from lmf_engine.config import load_config

    if target.kind == "url":
        return None
    root = Path(root or Path.cwd())
    where = Path(target.where).expanduser()
    where = where if where.is_absolute() else root / where
    extra = {"infer_backend": target.backend} if target.backend else {}
    if target.kind == "run":
        from lmf_engine.runs.inference import inference_values

        values = inference_values(where, base_only=target.base_only)
        return load_config(values={**values, **_resolved_paths(values, root, where), **extra})
    if not where.is_file():
        raise ChatError(f"config file {where} does not exist")
    config = load_config(where, values=extra)
    fixed = _resolved_paths({key: config.get(key) for key in PATH_KEYS}, root, where)
    return load_config(where, values={**extra, **fixed}) if fixed else config


def api_key(target: ChatTarget, env: Mapping[str, str] = os.environ) -> str | None:
    """The server's key from the variable the target names; :class:`ChatError` when that variable is not set."""
    if target.key_env is None:
        return None
    key = env.get(target.key_env)
    if not key:
        raise ChatError(f"the environment variable {target.key_env} (the API key of {target.where}) is not set")
    return key


def open_target(target: ChatTarget, root: Path | None = None, config: "Config | None" = None) -> "ChatEngine":
    """Start the engine of ``target`` (loads the model: call it in a worker thread).

    ``config`` is the target's config when the caller already loaded it with :func:`target_config`.
    """
    from .factory import create_engine

    if target.kind == "url":
        return create_engine(openai_base_url=target.where, api_key=api_key(target), model=target.model)
    return create_engine(config or target_config(target, root))
