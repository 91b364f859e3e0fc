"""Fixtures of the run tests: a workspace holding the fake trainer, and a launcher that cleans up after itself."""

import contextlib
import os
import shutil
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

FAKE_TRAINER = Path(__file__).with_name("fake_trainer.py")


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty workspace (the current directory) with ``fake_trainer.py``; the fake finishes 3 quick steps."""
    root = tmp_path / "ws"
    root.mkdir()
    shutil.copy(FAKE_TRAINER, root / "fake_trainer.py")
    monkeypatch.chdir(root)
    monkeypatch.setenv("FAKE_TRAINER_MODE", "finish")
    monkeypatch.setenv("FAKE_TRAINER_STEPS", "3")
    monkeypatch.setenv("FAKE_TRAINER_DELAY", "0.05")
    return root


@pytest.fixture
def launch(workspace: Path) -> Iterator[Callable[..., Any]]:
    """``launch(values, **start_run_kwargs)``: start the fake trainer on a config built from ``values``.

    Every process group started is killed at teardown, so that a failing test leaves nothing running.
    """
    from lmf_engine.config import load_config
    from lmf_engine.runs.launcher import start_run

    started = []

    def run(values: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        config = load_config(values={"output_dir": "runs/demo", **(values or {})})
        launched = start_run(config, workspace=workspace, entry_module="fake_trainer", **kwargs)
        started.append(launched)
        return launched

    yield run
    for launched in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(launched.record.pgid, signal.SIGKILL)
        launched.process.wait(timeout=10)
