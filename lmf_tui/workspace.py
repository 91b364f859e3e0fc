"""The folder the app works in: its datasets registry, its configs, and how relative paths resolve against it.

``lmf-tui`` opens the current directory when it holds a workspace (``data/dataset_info.json`` or
``configs/*.yaml``), otherwise the demo workspace, which is created on first use (no download) by
``lmf-engine demo init`` in a child process, so that the UI process never imports torch.
"""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lmf_engine.config import Config, ConfigError, load_config
from lmf_engine.runs.launcher import RUNS_FOLDER

DATASET_INFO = "dataset_info.json"
DEFAULT_DATASET_DIR = "data"
PREFERRED_CONFIG = "sft_lora.yaml"
PATH_KEYS = ("model_name_or_path", "dataset_dir", "media_dir")


def has_workspace(folder: Path) -> bool:
    """True when ``folder`` has ``data/dataset_info.json`` or a ``configs/*.yaml``."""
    return (folder / DEFAULT_DATASET_DIR / DATASET_INFO).is_file() or any(_config_files(folder / "configs"))


def _config_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def ensure_demo(folder: Path) -> bool:
    """Create the demo workspace in ``folder`` unless it is there; True when it was created now.

    Runs ``python -m lmf_engine demo init`` as a child process (it builds the tiny model with torch).
    """
    if has_workspace(folder):
        return False
    command = [sys.executable, "-m", "lmf_engine", "demo", "init", str(folder)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"cannot create the demo workspace in {folder}:\n{done.stderr.strip()}")
    return True


@dataclass(frozen=True)
class Workspace:
    """An open workspace. ``is_demo`` is True for the built-in demo."""

    root: Path
    is_demo: bool = False

    def resolve(self, value: str | os.PathLike[str]) -> Path:
        """A path from a config or a user, relative ones taken against the workspace root."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.root / path

    def display(self, path: Path) -> str:
        """``path`` relative to the root when inside it, else with the home folder as ``~``."""
        path = Path(path)
        for inside, root in ((path, self.root), (path.resolve(), self.root.resolve())):
            try:
                return str(inside.relative_to(root))
            except ValueError:
                pass
        home = Path.home()
        try:
            return "~/" + str(path.relative_to(home))
        except ValueError:
            return str(path)

    @property
    def title(self) -> str:
        shown = self.display_root()
        return f"{shown} (demo)" if self.is_demo else shown

    def display_root(self) -> str:
        try:
            return "~/" + str(self.root.relative_to(Path.home()))
        except ValueError:
            return str(self.root)

    @property
    def runs_root(self) -> Path:
        """``<root>/runs``: where runs started from the workbench go, and the folder the runs screen lists."""
        return self.root / RUNS_FOLDER

    def configs(self) -> list[Path]:
        """The workspace's configs (``configs/*.yaml``), sorted by name."""
        return _config_files(self.root / "configs")

    def default_config(self) -> Path | None:
        """The config the screens use until another is opened: ``configs/sft_lora.yaml`` or the first one."""
        configs = self.configs()
        preferred = [p for p in configs if p.name == PREFERRED_CONFIG]
        return (preferred or configs or [None])[0]

    def dataset_dir(self, config: Config | None = None) -> Path:
        """The config's ``dataset_dir`` (``data`` by default) against the root."""
        return self.resolve(config.data.dataset_dir if config is not None else DEFAULT_DATASET_DIR)

    def media_dir(self, config: Config | None = None) -> Path:
        """Where a row's relative image, video and audio paths start: the config's ``media_dir``, else its
        dataset_dir (as training resolves them)."""
        if config is not None and config.data.media_dir:
            return self.resolve(config.data.media_dir)
        return self.dataset_dir(config)

    def config_or_none(self, path: Path | None) -> Config | None:
        """The config at ``path`` as :meth:`load_config` loads it, or None when none is open or it does not load."""
        if path is None:
            return None
        try:
            return self.load_config(path)
        except (ConfigError, OSError):
            return None

    def load_config(self, path: Path, values: dict[str, object] | None = None) -> Config:
        """Load a config (``values`` override the file) with relative model and data paths resolved against the root.

        Raises :class:`lmf_engine.config.ConfigError`.
        """
        values = dict(values or {})
        config = load_config(path, values=values)
        for key in PATH_KEYS:
            value = config.get(key)
            if isinstance(value, str) and value and not Path(value).is_absolute():
                candidate = self.resolve(value)
                if candidate.exists():
                    values[key] = str(candidate)
        return load_config(path, values=values) if values else config
