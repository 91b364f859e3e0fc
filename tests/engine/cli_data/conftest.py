"""Fixtures of the ``lmf-engine data`` tests: a private copy of the demo workspace and an in-process CLI runner."""

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_data_support import Result
from typer.testing import CliRunner

from lmf_engine.cli.main import app


@pytest.fixture
def workspace(demo_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A writable copy of the demo workspace (the model is linked, not copied), made the current directory."""
    root = tmp_path / "ws"
    root.mkdir()
    for name in ("data", "configs"):
        shutil.copytree(demo_workspace / name, root / name)
    (root / "models").symlink_to(demo_workspace / "models", target_is_directory=True)
    monkeypatch.chdir(root)
    return root


@pytest.fixture(scope="session")
def datasets_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The ``datasets`` cache of the commands (kept out of the user's ~/.cache)."""
    return str(tmp_path_factory.mktemp("cli-datasets-cache"))


@pytest.fixture
def cli(datasets_cache: str) -> Callable[..., Result]:
    """``cli("data", "list", ...)`` runs the command in-process; config commands get a private datasets cache."""
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        argv = list(args)
        if argv[:2] in (["data", "stats"], ["data", "encode"]):
            argv.insert(3, f"cache_dir={datasets_cache}")
        result = runner.invoke(app, argv)
        exception = None if isinstance(result.exception, SystemExit) else result.exception
        return Result(result.exit_code, result.stdout, result.stderr, exception)

    return invoke
