"""The names a config refers to, checked before anything runs: the template against the template catalogue, the
datasets against ``dataset_info.json``, the dataset folder, and the model every config names (a config's own rules
already ask for a dataset to train on).

``lmf-engine config validate``, ``lmf-engine train`` and the workbench's train screen call :func:`name_issues` after
the config itself is valid, so that a misspelt dataset fails at once, with a "did you mean", not inside the run.
"""

import os
import re
from pathlib import Path

from lmf_engine.config import Config, ConfigIssue
from lmf_engine.util.suggest import did_you_mean

from .errors import DataError
from .registry import read_dataset_info, split_names
from .templates.catalog import template_names

SPECIAL_DIRS = ("ONLINE",)
REMOTE_PREFIX = "REMOTE:"
JINJA_TEMPLATES = ("hf",)
"""Template values that are not catalogue names (``hf``: the tokenizer's own chat template)."""


def key_lines(path: Path | None) -> dict[str, int]:
    """The line of each top-level ``key:`` of a YAML file (for pointing at a key; {} when unreadable)."""
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        match = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\s*:", line)
        if match:
            lines.setdefault(match.group(1), number)
    return lines


def _hint(name: str, known: list[str]) -> str:
    close = did_you_mean(name, known)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def name_issues(config: Config, path: Path | None = None, workspace: Path | None = None) -> list[ConfigIssue]:
    """Problems with the names the config uses. ``workspace`` (default: the current folder) is where a relative
    ``dataset_dir`` resolves; ``path`` is the config file, named in the issues with the key's line."""
    source = str(path) if path is not None else None
    lines = key_lines(path)
    issues: list[ConfigIssue] = []

    def issue(key: str, message: str) -> None:
        issues.append(ConfigIssue(key, message, source, lines.get(key)))

    if not config.explicit:
        issue("", "the file sets no key: a config names at least model_name_or_path (and to train: stage, "
              "do_train, dataset, template)")  # fmt: skip
        return issues
    if config.get("model_name_or_path") is None:
        issue("model_name_or_path", "missing: every config names the model (a local folder or a hub id)")
    template = config.get("template")
    if template and template not in JINJA_TEMPLATES and template not in template_names():
        issue("template", f"unknown template {template!r}{_hint(template, template_names())}")
    wanted = {key: split_names(config.get(key)) for key in ("dataset", "eval_dataset")}
    dataset_dir = str(config.get("dataset_dir"))
    if any(wanted.values()) and dataset_dir not in SPECIAL_DIRS and not dataset_dir.startswith(REMOTE_PREFIX):
        for key, message in _dataset_problems(dataset_dir, wanted, workspace or Path.cwd()):
            issue(key, message)
    return issues


def _dataset_problems(dataset_dir: str, wanted: dict[str, list[str]], workspace: Path) -> list[tuple[str, str]]:
    folder = Path(dataset_dir).expanduser()
    folder = folder if folder.is_absolute() else workspace / folder
    if not folder.is_dir():
        return [("dataset_dir", f"{dataset_dir!r}: no such folder ({os.fspath(folder)})")]
    try:
        known = read_dataset_info(folder).names()
    except DataError as exc:
        return [("dataset_dir", str(exc))]
    info = folder / "dataset_info.json"
    return [
        (key, f"{name!r} is not in {info}{_hint(name, known)}")
        for key, names in wanted.items()
        for name in names
        if name not in known
    ]
