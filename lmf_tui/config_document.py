"""A config being edited: its raw values in file order, the text whose comments are kept, and the file it saves to."""

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml

from lmf_engine.config import Config, ConfigIssue, FieldInfo, check_config
from lmf_engine.config.save import render_yaml, save_config
from lmf_engine.util.fs import atomic_write_text


class ConfigDocumentError(ValueError):
    """A config file that cannot be opened; the message names the file and, for bad YAML, the line."""


def _read_mapping(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigDocumentError(f"{path}: cannot read the file: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigDocumentError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigDocumentError(f"{path}: the file must be a mapping of keys to values")
    return text, {str(k): v for k, v in data.items()}


def format_value(value: Any) -> str:
    """A raw value as the form shows it: text as is, everything else as YAML flow text."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix("\n...").strip()


def parse_value(text: str) -> Any:
    """What the user typed, read as a YAML scalar or flow collection (``1e-4``, ``true``, ``[a, b]``)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


@dataclass
class ConfigDocument:
    """``path`` is the file on disk (None until saved); ``base_text`` keeps comments and order when rendering."""

    values: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    base_text: str | None = None
    origin: str | None = None

    @classmethod
    def open(cls, path: Path) -> "ConfigDocument":
        text, values = _read_mapping(path)
        return cls(values, path, text)

    @classmethod
    def from_example(cls, path: Path) -> "ConfigDocument":
        """A new, unsaved config that starts as a copy of ``path`` (its comments kept)."""
        text, values = _read_mapping(path)
        return cls(values, None, text, origin=str(path))

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value

    def unset(self, key: str) -> None:
        self.values.pop(key, None)

    def set_text(self, info: FieldInfo | None, key: str, text: str) -> None:
        """Set ``key`` from form text; empty text removes the key (its default applies)."""
        if not text.strip():
            self.unset(key)
        elif info is not None and str in _plain_types(info) and not _looks_structured(text):
            self.values[key] = text
        else:
            self.values[key] = parse_value(text)

    def check(self) -> tuple[Config, list[ConfigIssue]]:
        """The engine's validation of the current values (every problem at once)."""
        return check_config(values=self.values)

    def yaml_text(self) -> str:
        return render_yaml(self.values, self.base_text)

    def disk_text(self) -> str | None:
        if self.path is None or not self.path.is_file():
            return None
        return self.path.read_text(encoding="utf-8")

    def diff(self, after: str | None = None, name: str | None = None) -> str:
        """Unified diff of the file on disk against what saving would write (``after``; empty when the same).

        ``name`` is how the file is called in the headers (its path by default).
        """
        before = self.disk_text()
        after = self.yaml_text() if after is None else after
        name = name or (str(self.path) if self.path else "(not saved)")
        lines = difflib.unified_diff(
            (before or "").splitlines(keepends=True), after.splitlines(keepends=True), name, f"{name} (edited)"
        )
        return "".join(lines)

    def is_dirty(self, rendered: str | None = None) -> bool:
        """True when saving would change the file (or there is no file yet); ``rendered`` is :meth:`yaml_text`."""
        return self.path is None or self.disk_text() != (self.yaml_text() if rendered is None else rendered)

    def save(self) -> Path:
        """Write to ``path`` atomically, keeping the file's comments and key order."""
        if self.path is None:
            raise ConfigDocumentError("this config has no file yet: use save as")
        save_config(self.path, self.values)
        self.base_text = self.path.read_text(encoding="utf-8")
        return self.path

    def save_as(self, path: Path) -> Path:
        """Write to a new file atomically, keeping the comments of the text it came from."""
        text = self.yaml_text()
        atomic_write_text(path, text)
        self.path, self.base_text, self.origin = path, text, None
        return path


RECOVERY_SUFFIX = ".recovered.yaml"
NEW_CONFIG_NAME = "new_config.yaml"


def recovery_path(path: Path | None, configs_dir: Path) -> Path:
    """Where the unsaved edits of ``path`` (None: a new config) are kept after a crash: a hidden file beside it."""
    target = path if path is not None else configs_dir / NEW_CONFIG_NAME
    return target.with_name(f".{target.name}{RECOVERY_SUFFIX}")


def write_recovery(doc: ConfigDocument, configs_dir: Path) -> Path:
    """Write the document's current text where :func:`recovery_path` says, and return that path."""
    path = recovery_path(doc.path, configs_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, doc.yaml_text())
    return path


def recovered(path: Path | None, configs_dir: Path) -> ConfigDocument | None:
    """The edits of ``path`` kept after a crash (newer than the file), as an unsaved document of ``path``."""
    copy = recovery_path(path, configs_dir)
    if not copy.is_file():
        return None
    if path is not None and path.is_file() and path.stat().st_mtime > copy.stat().st_mtime:
        return None
    try:
        text, values = _read_mapping(copy)
    except ConfigDocumentError:
        return None
    return ConfigDocument(values, path, path.read_text(encoding="utf-8") if path and path.is_file() else text)


def _plain_types(info: FieldInfo) -> set[type]:
    args = get_args(info.annotation) if get_origin(info.annotation) is not None else (info.annotation,)
    return {arg for arg in args if isinstance(arg, type)}


def _looks_structured(text: str) -> bool:
    stripped = text.strip()
    return stripped[:1] in ("[", "{") or stripped in ("null", "~")
