"""The engine stays headless: it never imports textual, and its layers only import downwards."""

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import lmf_engine

ROOT = Path(__file__).resolve().parents[2]


def engine_modules() -> list[str]:
    return sorted(
        m.name for m in pkgutil.walk_packages(lmf_engine.__path__, "lmf_engine.") if m.name != "lmf_engine.__main__"
    )


def test_no_engine_module_imports_textual() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {engine_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'textual' or m.startswith(('textual.', 'lmf_tui'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


LINT_IMPORTS = shutil.which("lint-imports", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(LINT_IMPORTS is None, reason="import-linter is not installed")
def test_import_linter_contracts_hold() -> None:
    result = subprocess.run([LINT_IMPORTS], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
