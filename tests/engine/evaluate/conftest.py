"""Fixtures of the evaluation tests: the prompt-sensitive tiny model and the task folder, each built once."""

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def sharp_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fixtures.eval_model import build_sharp_model

    return build_sharp_model(tmp_path_factory.mktemp("eval-model") / "sharp")


@pytest.fixture(scope="session")
def task_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fixtures.eval_task import write_task

    folder = tmp_path_factory.mktemp("eval-tasks")
    write_task(folder)
    return folder
