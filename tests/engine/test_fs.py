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


def test_temps_left_by_a_killed_save_are_removed_by_the_next_one(tmp_path: Path) -> None:
    from lmf_engine.config.save import save_config

    config = tmp_path / "[x=.yml"
    config.write_text("learning_rate: 1.0e-4\n")
    stale = tmp_path / f".{config.name}.k1ll3d.tmp"
    stale.write_text("half a config")
    stale.chmod(0o600)
    os.utime(stale, (1, 1))
    fresh = tmp_path / f".{config.name}.wr1ting.tmp"
    fresh.write_text("another save, going on now")
    other = tmp_path / ".other.yaml.old.tmp"
    other.write_text("not ours")
    os.utime(other, (1, 1))
    save_config(config, {"learning_rate": 2e-4})
    assert not stale.exists() and fresh.exists() and other.exists()
    assert "2.0e-4" in config.read_text() or "0.0002" in config.read_text()
