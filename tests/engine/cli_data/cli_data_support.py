"""Helpers of the ``lmf-engine data`` tests: broken workspaces and what a user error must look like."""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Result:
    """What one command did: exit code, stdout, stderr, and the exception if it was not a clean exit."""

    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None

    def json(self) -> Any:
        return json.loads(self.stdout)


def tree_digest(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` (to show a command left the user's files as they were)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def add_entries(root: Path, entries: dict[str, Any], files: dict[str, str] | None = None) -> None:
    """Add dataset_info.json entries and write data files (name -> text) into the workspace's data folder."""
    info_path = root / "data" / "dataset_info.json"
    info = json.loads(info_path.read_text(encoding="utf-8"))
    info.update(entries)
    info_path.write_text(json.dumps(info, indent=2), encoding="utf-8")
    for name, text in (files or {}).items():
        (root / "data" / name).write_text(text, encoding="utf-8")


def assert_user_error(result: Result, *fragments: str) -> None:
    """Exit code 2, one message on stderr naming each fragment, nothing on stdout, no traceback."""
    assert result.exception is None, result.exception
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
