"""Typed settings of ``lmf-tui``: defaults < the settings file < ``LMF_TUI_*`` environment variables.

The file is TOML at ``$XDG_CONFIG_HOME/lmf-workbench/tui.toml``; without ``$XDG_CONFIG_HOME``, in the platform's
user config folder as platformdirs knows it (``~/.config`` on Linux, ``~/Library/Application Support`` on macOS,
``%LOCALAPPDATA%`` on Windows). ``LMF_TUI_SETTINGS`` names another file::

    theme = "lmf-light"          # remembered when a theme is chosen in the command palette
    page_size = 100              # rows per page of the dataset table
    demo_dir = "~/lmf-demo"      # where the demo workspace lives (default: $XDG_DATA_HOME/lmf-workbench/demo)
    themes_dir = "~/my-themes"   # extra *.toml themes (default: $XDG_CONFIG_HOME/lmf-workbench/themes)
    images = "halfcell"          # how pictures are drawn: auto (Sixel or Kitty when the terminal answers that it
                                 # has them, else half-blocks), sixel, kitty, halfcell or unicode

    [keys]                       # binding id = keys; `?` in the app lists the ids
    "datasets.stats" = "t"
    "config.save_as" = "f2,ctrl+r"

Environment: ``LMF_TUI_THEME``, ``LMF_TUI_PAGE_SIZE``, ``LMF_TUI_DEMO_DIR``, ``LMF_TUI_THEMES_DIR``,
``LMF_TUI_IMAGES`` and ``LMF_TUI_KEYS`` (``"datasets.stats=t;app.quit=ctrl+x"``) win over the file.
"""

import errno
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
import tomlkit
import tomlkit.exceptions

from lmf_engine.util.fs import atomic_write_text
from lmf_engine.util.suggest import did_you_mean

from .bindings import check_keymap

APP_DIR = "lmf-workbench"
DEFAULT_THEME = "lmf-dark"
ENV_PREFIX = "LMF_TUI_"
FILE_KEYS = ("theme", "page_size", "demo_dir", "themes_dir", "images", "keys")
IMAGE_RENDERERS = ("auto", "sixel", "kitty", "halfcell", "unicode")
"""How pictures are drawn (``images``): ``auto`` asks the terminal at start for Sixel or the Kitty graphics protocol
and falls back to half-block characters, which any terminal shows (over SSH, in tmux)."""


class SettingsError(ValueError):
    """A settings file or variable that cannot be used; the message names it, the key and what is allowed."""


def _user_dir(env: Mapping[str, str], variable: str, fallback: Callable[..., Path]) -> Path:
    """``$<variable>/lmf-workbench`` when the variable is set (on any platform), else platformdirs' folder."""
    if xdg := env.get(variable, "").strip():
        return Path(xdg) / APP_DIR
    return fallback(APP_DIR, appauthor=False)


def config_home(env: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_CONFIG_HOME/lmf-workbench``, else platformdirs' user config folder (``~/.config/...`` on Linux)."""
    return _user_dir(env, "XDG_CONFIG_HOME", platformdirs.user_config_path)


def data_home(env: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_DATA_HOME/lmf-workbench``, else platformdirs' user data folder (``~/.local/share/...`` on Linux)."""
    return _user_dir(env, "XDG_DATA_HOME", platformdirs.user_data_path)


def state_home(env: Mapping[str, str] = os.environ) -> Path:
    """``$XDG_STATE_HOME/lmf-workbench``, else platformdirs' user state folder (``~/.local/state/...`` on Linux)."""
    return _user_dir(env, "XDG_STATE_HOME", platformdirs.user_state_path)


def settings_path(env: Mapping[str, str] = os.environ) -> Path:
    """The settings file: ``LMF_TUI_SETTINGS`` or ``$XDG_CONFIG_HOME/lmf-workbench/tui.toml``."""
    explicit = env.get(ENV_PREFIX + "SETTINGS")
    return Path(explicit).expanduser() if explicit else config_home(env) / "tui.toml"


@dataclass
class Settings:
    """Everything the user can set. ``path`` is the file the chosen theme is written back to."""

    theme: str = DEFAULT_THEME
    page_size: int = 100
    demo_dir: Path = field(default_factory=lambda: data_home() / "demo")
    themes_dir: Path = field(default_factory=lambda: config_home() / "themes")
    images: str = "auto"
    keys: dict[str, str] = field(default_factory=dict)
    path: Path | None = None


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(f"{where}: expected a non-empty text, not {value!r}")
    return value.strip()


def _page_size(value: Any, where: str) -> int:
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise SettingsError(f"{where}: expected a whole number from 10 to 10000, not {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int) or not 10 <= value <= 10000:
        raise SettingsError(f"{where}: expected a whole number from 10 to 10000, not {value!r}")
    return value


def _apply(settings: Settings, values: Mapping[str, Any], where: str) -> None:
    for key, value in values.items():
        at = f"{where}: {key}"
        if key == "theme":
            settings.theme = _text(value, at)
        elif key == "page_size":
            settings.page_size = _page_size(value, at)
        elif key == "images":
            if value not in IMAGE_RENDERERS:
                raise SettingsError(f"{at}: expected one of {', '.join(IMAGE_RENDERERS)}, not {value!r}")
            settings.images = value
        elif key in ("demo_dir", "themes_dir"):
            setattr(settings, key, Path(_text(value, at)).expanduser())
        elif key == "keys":
            if not isinstance(value, dict):
                raise SettingsError(f"{at}: expected a table of binding id = keys")
            try:
                settings.keys.update(check_keymap(value, at))
            except ValueError as exc:
                raise SettingsError(str(exc)) from None
        else:
            close = did_you_mean(key, FILE_KEYS)
            hint = f"; did you mean {' or '.join(close)}?" if close else f" (known: {', '.join(FILE_KEYS)})"
            raise SettingsError(f"{where}: unknown setting {key!r}{hint}")


def _env_keys(text: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in text.split(";"):
        if not item.strip():
            continue
        binding_id, sep, keys = item.partition("=")
        if not sep:
            raise SettingsError(f"{ENV_PREFIX}KEYS: expected id=keys items separated by ';', got {item.strip()!r}")
        pairs[binding_id.strip()] = keys
    return pairs


def load_settings(env: Mapping[str, str] = os.environ, path: Path | None = None) -> Settings:
    """Read the settings file (when it exists), then the environment; raise :class:`SettingsError` on a bad value."""
    path = path or settings_path(env)
    settings = Settings(demo_dir=data_home(env) / "demo", themes_dir=config_home(env) / "themes", path=path)
    if path.is_file():
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"{path}: {exc}") from None
        _apply(settings, values, str(path))
    from_env: dict[str, Any] = {}
    for key in ("theme", "page_size", "demo_dir", "themes_dir", "images"):
        if (value := env.get(ENV_PREFIX + key.upper())) is not None:
            from_env[key] = value
    if (keys := env.get(ENV_PREFIX + "KEYS")) is not None:
        from_env["keys"] = _env_keys(keys)
    _apply(settings, from_env, "environment (LMF_TUI_*)")
    return settings


def remember_theme(path: Path, theme: str) -> None:
    """Set ``theme = "<name>"`` in the settings file atomically (tomlkit: every other key, comment and blank line stays
    as the user wrote it); create the file when there is none.

    Raises :class:`OSError` when the file cannot be read or written, or is not TOML (then it is left as it is).
    """
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    try:
        document = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise OSError(errno.EINVAL, f"not valid TOML ({exc}), left as it is", str(path)) from None
    document["theme"] = theme
    atomic_write_text(path, document.as_string())
