"""Fixtures shared by the whole suite: the tiny local model and the demo workspace, each built once per session."""

from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reaches a hub or writes to the user's caches: offline flags and a session cache folder."""
    import os

    cache = tmp_path_factory.mktemp("lmf-cache")
    os.environ.update({"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "LMF_CACHE_HOME": str(cache)})


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Qwen2 chat model (tokenizer + random weights, seed 0) saved in a session folder. Treat as read-only."""
    from lmf_engine.model.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model") / "tiny-qwen2")


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo workspace (``lmf-engine demo init``) in a session folder. Treat as read-only; copy it to change it."""
    from lmf_engine.demo.workspace import init_demo_workspace

    return init_demo_workspace(tmp_path_factory.mktemp("demo") / "workspace")
