"""Themes loaded from TOML files: textual ``Theme`` fields plus a ``[variables]`` table of lmf's own colours."""

import tomllib
from pathlib import Path

from textual.theme import Theme

REQUIRED_VARIABLES = ("token-trained", "token-masked", "token-special")


def builtin_themes_dir() -> Path:
    """The shipped themes: package data (``lmf_tui/themes``), found by any install (editable, wheel, ``--user``)."""
    return Path(__file__).resolve().with_name("themes")


class ThemeFileError(ValueError):
    """A theme file that cannot be used; the message names the file and the problem."""


def load_theme(path: Path) -> Theme:
    """Read one theme file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ThemeFileError(f"{path}: {exc}") from None
    missing = [v for v in REQUIRED_VARIABLES if v not in data.get("variables", {})]
    if missing:
        raise ThemeFileError(f"{path}: [variables] lacks {', '.join(missing)}")
    try:
        return Theme(**data)
    except TypeError as exc:
        raise ThemeFileError(f"{path}: {exc}") from None
