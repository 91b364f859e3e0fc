"""Fixtures shared by the whole suite: the tiny local model and the demo workspace, each built once per session."""

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
"""LLaMA-Factory's data and examples beside the checkout: the compatibility tests read them."""


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI (``CI`` set) a missing ``../shared`` fails the run instead of skipping its compatibility tests."""
    if os.environ.get("CI") and not (SHARED / "lmf-data").is_dir():
        raise pytest.UsageError(
            f"{SHARED} (lmf-data, lmf-examples) is missing: CI runs the LLaMA-Factory compatibility tests against it"
        )


@pytest.fixture(autouse=True, scope="session")
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reaches a hub or writes to the user's caches or state: offline flags, session folders."""
    cache, state = tmp_path_factory.mktemp("lmf-cache"), tmp_path_factory.mktemp("xdg-state")
    os.environ.update(
        {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "LMF_CACHE_HOME": str(cache), "XDG_STATE_HOME": str(state)}
    )


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


@pytest.fixture(scope="session")
def sharp_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model scaled so its multiple-choice answers follow the prompt (fixtures/eval_model.py)."""
    from fixtures.eval_model import build_sharp_model

    return build_sharp_model(tmp_path_factory.mktemp("eval-model") / "sharp")


@pytest.fixture(scope="session")
def task_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the multiple-choice task ``quiz`` (fixtures/eval_task.py). Treat as read-only."""
    from fixtures.eval_task import write_task

    folder = tmp_path_factory.mktemp("eval-tasks")
    write_task(folder)
    return folder
