"""The config a run folder was started with, as the flat key/value mapping of its YAML file.

A run of lmf workbench has ``config.yaml``; a LLaMA-Factory output folder may have ``training_args.yaml`` (written
by LLaMA Board) or ``llamafactory_cli.yaml``. They are read with a plain YAML load: no validation, nothing imported
beyond PyYAML, so the UI process can read hundreds of them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from .record import CONFIG_FILE

LF_CONFIG_FILES = ("training_args.yaml", "llamafactory_cli.yaml")
"""Config files of a LLaMA-Factory output folder, in the order they are looked for."""

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class RunConfigError(ValueError):
    """A run's config file exists but is not a YAML mapping."""


def config_file(run_dir: Path) -> Path | None:
    """The run's config file: config.yaml, else a LLaMA-Factory one; None when it has none."""
    for name in (CONFIG_FILE, *LF_CONFIG_FILES):
        path = run_dir / name
        if path.is_file():
            return path
    return None


def load_yaml_mapping(path: Path) -> dict[str, Any]:
    """A YAML file's top-level mapping ({} for an empty file); :class:`RunConfigError` for anything else."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=_LOADER)
    except yaml.YAMLError as err:
        raise RunConfigError(f"{path}: not valid YAML: {err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RunConfigError(f"{path}: expected a mapping of config keys, got {type(data).__name__}")
    return {str(key): value for key, value in data.items()}


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """The run's config mapping, {} when the folder has no config file."""
    path = config_file(run_dir)
    return load_yaml_mapping(path) if path is not None else {}


class CachedConfig:
    """A run's config, read again only when its file's modification time or size changes."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.values: dict[str, Any] = {}
        self.path: Path | None = None
        self._stamp: tuple[str, int, int] | None = None

    def refresh(self) -> bool:
        """Re-read the file if it changed; True when it was read (or vanished)."""
        path = config_file(self.run_dir)
        if path is None:
            changed = self._stamp is not None
            self.values, self.path, self._stamp = {}, None, None
            return changed
        st = os.stat(path)
        stamp = (path.name, st.st_mtime_ns, st.st_size)
        if stamp == self._stamp:
            return False
        self.values = load_yaml_mapping(path)
        self.path, self._stamp = path, stamp
        return True


def config_default(key: str) -> Any:
    """The default of a config key from the config's field metadata; None for a key it does not know."""
    from lmf_engine.config import field_index

    info = field_index().get(key)
    return info.default if info is not None else None


def effective_batch(values: dict[str, Any], num_processes: int | None) -> int | None:
    """Samples per optimizer step: per-device batch x gradient accumulation x processes; None when not known (no
    config values, or no number of processes). A key the values lack counts as its default."""
    if not values or not num_processes:
        return None
    numbers = []
    for key in ("per_device_train_batch_size", "gradient_accumulation_steps"):
        value = values.get(key, config_default(key))
        try:
            numbers.append(int(value))
        except (TypeError, ValueError):
            return None
    return numbers[0] * numbers[1] * int(num_processes)
