"""Starting a run from the workbench: the launch options, the accelerate/DeepSpeed configs on offer, the preview.

The options become ordinary config keys (``output_dir``, ``num_processes``, ``accelerate_config``, ``deepspeed``)
and, for the GPUs, ``CUDA_VISIBLE_DEVICES`` in the child's environment; the engine's launcher does the rest, exactly
as ``lmf-engine train CONFIG key=value`` would.
"""

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from lmf_engine.config import Config, ConfigError, load_config
from lmf_engine.config.launcher_files import CONFIG_KEYS, LauncherKind, launcher_kind
from lmf_engine.data.config_names import name_issues
from lmf_engine.runs.launcher import LaunchedRun, LaunchPreview, preview_launch, start_run
from lmf_engine.runs.store import RunStateError, delete_run, open_run, resume_run

from .workspace import Workspace

StartMode = Literal["new", "resume", "overwrite"]
SEARCHED_FOLDERS = ("configs", "examples", "accelerate", "deepspeed")
MAX_DEPTH = 3


@dataclass(frozen=True)
class LaunchConfigFile:
    """An accelerate config (also FSDP's) or a DeepSpeed config found in the workspace."""

    path: Path
    kind: LauncherKind


def config_kind(path: Path) -> LauncherKind | None:
    """``deepspeed`` for a JSON with ``zero_optimization``, ``accelerate`` for a YAML with ``distributed_type``."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError):
        return None
    return launcher_kind(data) if isinstance(data, dict) else None


def find_launch_configs(root: Path) -> list[LaunchConfigFile]:
    """Accelerate and DeepSpeed configs under the workspace's ``configs/`` and ``examples/`` folders (as in a
    LLaMA-Factory checkout: ``examples/accelerate``, ``examples/deepspeed``), a few levels deep."""
    found: list[LaunchConfigFile] = []
    for folder in SEARCHED_FOLDERS:
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            depth = len(path.relative_to(base).parts)
            if depth > MAX_DEPTH or path.suffix not in (".json", ".yaml", ".yml") or not path.is_file():
                continue
            kind = config_kind(path)
            if kind is not None and all(f.path != path for f in found):
                found.append(LaunchConfigFile(path, kind))
    return found


@dataclass(frozen=True)
class LaunchOptions:
    """What the train screen's launch form holds. ``run_dir`` as typed (relative to the workspace or absolute);
    ``gpus`` None lets the launcher use every visible GPU."""

    config_path: Path
    run_dir: str | None = None
    processes: int | None = None
    gpus: tuple[int, ...] | None = None
    launch_config: LaunchConfigFile | None = None

    def values(self) -> dict[str, object]:
        """The config keys these options set."""
        values: dict[str, object] = {}
        if self.run_dir:
            values["output_dir"] = self.run_dir
        if self.processes is not None:
            values["num_processes"] = self.processes
        if self.launch_config is not None:
            values[CONFIG_KEYS[self.launch_config.kind]] = str(self.launch_config.path)
        return values

    def environ(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The child's environment: ``base`` (this process's) with ``CUDA_VISIBLE_DEVICES`` for chosen GPUs."""
        environ = dict(os.environ if base is None else base)
        if self.gpus is not None:
            environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in self.gpus)
        return environ


def prepare(workspace: Workspace, options: LaunchOptions) -> tuple[Config, LaunchPreview]:
    """Validate and plan: the config, the exact command and run folder, and what that folder already holds."""
    config = load_config(options.config_path, values=options.values())
    issues = name_issues(config, options.config_path, workspace.root)
    if issues:
        raise ConfigError(issues)
    environ = options.environ()
    gpus = None if options.gpus is None else len(options.gpus)
    preview = preview_launch(config, workspace=workspace.root, environ=environ, gpu_count=gpus)
    return config, preview


def next_free_dir(run_dir: Path) -> Path:
    """``<run_dir>-2``, ``-3``... the first that does not exist."""
    number = 2
    while (candidate := run_dir.with_name(f"{run_dir.name}-{number}")).exists():
        number += 1
    return candidate


def start(workspace: Workspace, options: LaunchOptions, mode: StartMode = "new") -> LaunchedRun:
    """Start the run. ``resume`` continues the run in the folder from its newest checkpoint; ``overwrite`` deletes
    that run's folder first (refused while it runs); ``new`` needs a folder without a run."""
    config, preview = prepare(workspace, options)
    if mode == "resume":
        return resume_run(open_run(preview.run_dir), workspace=str(workspace.root))
    if mode == "overwrite" and preview.run_dir.is_dir():
        if preview.existing is not None:
            delete_run(open_run(preview.run_dir))
        elif preview.occupied:
            shutil.rmtree(preview.run_dir)
    elif preview.existing is not None:
        raise RunStateError(f"{preview.run_dir} holds run {preview.run_dir.name!r}: resume it, overwrite it or rename")
    gpus = None if options.gpus is None else len(options.gpus)
    return start_run(
        config,
        config_path=options.config_path,
        workspace=workspace.root,
        run_dir=preview.run_dir,
        environ=options.environ(),
        gpu_count=gpus,
    )
