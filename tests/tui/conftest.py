"""Fixtures of the TUI tests: a writable copy of the demo workspace, settings in a temp folder, an app factory."""

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from lmf_engine.monitor.sampler import Sampler
from lmf_tui.app import WorkbenchApp
from lmf_tui.settings import Settings
from lmf_tui.workspace import Workspace


@pytest.fixture
def workspace(demo_workspace: Path, tmp_path: Path) -> Path:
    """A copy of the demo workspace at ``tmp_path/ws`` (the model folder is linked, not copied)."""
    root = tmp_path / "ws"
    shutil.copytree(demo_workspace, root, ignore=shutil.ignore_patterns("models"))
    (root / "models").symlink_to(demo_workspace / "models", target_is_directory=True)
    return root


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings written to a temp file, lmf-dark, no user themes."""
    return Settings(
        theme="lmf-dark",
        path=tmp_path / "config" / "tui.toml",
        demo_dir=tmp_path / "demo",
        themes_dir=tmp_path / "themes",
    )


@pytest.fixture
def make_app(workspace: Path, settings: Settings) -> Callable[..., WorkbenchApp]:
    """``make_app(root=None, sampler=None, **setting_overrides)``: an app on the workspace copy (or ``root``)."""

    def make(root: Path | None = None, sampler: Sampler | None = None, **overrides: object) -> WorkbenchApp:
        for key, value in overrides.items():
            setattr(settings, key, value)
        return WorkbenchApp(Workspace(root or workspace), settings, sampler)

    return make
