"""Fixtures of the dataset-layer tests: no network, a per-session ``datasets`` cache, small config builders."""

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def offline_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dataset tests never touch the network."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="session")
def data_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The ``datasets`` cache folder for the session (kept out of the user's ~/.cache)."""
    import datasets

    datasets.disable_progress_bars()
    return str(tmp_path_factory.mktemp("datasets-cache"))


@pytest.fixture
def make_config(data_cache: str) -> Callable[..., Any]:
    """``make_config(dataset_dir, dataset=..., stage=..., **values)`` -> a typed Config."""
    from lmf_engine.config import load_config

    def build(dataset_dir: str | Path, **values: Any) -> Any:
        return load_config(values={"dataset_dir": str(dataset_dir), "cache_dir": data_cache, **values})

    return build


@pytest.fixture
def workspace(demo_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A writable copy of the demo workspace, made the working directory (config paths are relative to it)."""
    root = tmp_path / "ws"
    shutil.copytree(demo_workspace, root, ignore=shutil.ignore_patterns("models"))
    (root / "models").symlink_to(demo_workspace / "models")
    monkeypatch.chdir(root)
    monkeypatch.setenv("LMF_CACHE_HOME", str(tmp_path / "cache"))
    return root
