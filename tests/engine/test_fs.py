"""Atomic writes keep or set ordinary permissions."""

import os
from pathlib import Path

from lmf_engine.util.fs import atomic_write_text


def test_new_file_gets_umask_permissions_and_existing_keeps_its_own(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        fresh = tmp_path / "new.yaml"
        atomic_write_text(fresh, "a: 1\n")
        assert fresh.stat().st_mode & 0o777 == 0o640
        kept = tmp_path / "kept.yaml"
        kept.write_text("x")
        kept.chmod(0o604)
        atomic_write_text(kept, "b: 2\n")
        assert kept.stat().st_mode & 0o777 == 0o604 and kept.read_text() == "b: 2\n"
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    finally:
        os.umask(old)
