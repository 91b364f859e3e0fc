"""What the chat screen can talk to in a workspace, which one it opens on, and the last one used (remembered).

The last target of each workspace is kept in ``$XDG_STATE_HOME/lmf-workbench/chat.json`` (a server's key is never
there: only the name of the environment variable that holds it).
"""

import importlib.util
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lmf_engine.chat.target import ChatTarget
from lmf_engine.runs.inference import ADAPTER_TYPES, RunConfigError, training_values
from lmf_engine.runs.store import list_runs
from lmf_engine.util.fs import atomic_write_text

from .settings import state_home
from .workspace import Workspace

CHAT_CONFIG = "chat.yaml"
STATE_FILE = "chat.json"


@dataclass(frozen=True)
class TargetChoice:
    """A target offered in the picker, with the line that describes it."""

    target: ChatTarget
    label: str


def state_path(env: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_STATE_HOME/lmf-workbench/chat.json`` (platformdirs' state folder when the variable is not set)."""
    return state_home(env) / STATE_FILE


def _read_state(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remembered_target(workspace: Workspace, path: Path | None = None) -> ChatTarget | None:
    """The last target used in ``workspace``, when it is remembered and still makes one."""
    entry = _read_state(path or state_path()).get(str(workspace.root))
    if not isinstance(entry, dict):
        return None
    try:
        return ChatTarget.from_dict(entry)
    except (TypeError, ValueError):
        return None


def remember_target(workspace: Workspace, target: ChatTarget, path: Path | None = None) -> None:
    """Remember ``target`` as the workspace's last one (errors writing the file are the caller's to report)."""
    path = path or state_path()
    state = _read_state(path)
    state[str(workspace.root)] = target.to_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(state, indent=2) + "\n")


def _has_adapter(run_dir: Path) -> bool:
    try:
        return training_values(run_dir).get("finetuning_type", "lora") in ADAPTER_TYPES
    except RunConfigError:
        return False


def finished_runs(workspace: Workspace) -> list[Path]:
    """The workspace's finished runs, newest first."""
    return [info.path for info in list_runs(workspace.runs_root) if info.state == "finished"]


def target_choices(workspace: Workspace) -> list[TargetChoice]:
    """Finished runs (each also as its base model alone when it trained an adapter), then the workspace's configs."""
    choices = []
    for run_dir in finished_runs(workspace):
        shown = workspace.display(run_dir)
        choices.append(TargetChoice(ChatTarget("run", shown), f"run {run_dir.name}: its result ({shown})"))
        if _has_adapter(run_dir):
            choices.append(
                TargetChoice(ChatTarget("run", shown, base_only=True), f"run {run_dir.name}: base model, no adapter")
            )
    for config in workspace.configs():
        shown = workspace.display(config)
        choices.append(TargetChoice(ChatTarget("config", shown), f"config {shown}"))
    return choices


def opening_target(workspace: Workspace, remembered: ChatTarget | None) -> ChatTarget | None:
    """The target the screen opens on: the last one used, else the newest finished run, else ``configs/chat.yaml``."""
    if remembered is not None and (remembered.kind == "url" or workspace.resolve(remembered.where).exists()):
        return remembered
    runs = finished_runs(workspace)
    if runs:
        return ChatTarget("run", workspace.display(runs[0]))
    chat_config = workspace.root / "configs" / CHAT_CONFIG
    return ChatTarget("config", workspace.display(chat_config)) if chat_config.is_file() else None


def vllm_installed() -> bool:
    """True when the vllm package can be imported here (it is never imported to find out)."""
    return importlib.util.find_spec("vllm") is not None
