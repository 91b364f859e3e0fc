"""File-system helpers."""

import glob
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


def _umask() -> int:
    """The process umask, read without changing it (``os.umask`` would, for a moment, in every thread)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


STALE_TEMP_S = 60.0
"""A temporary file of an atomic write this much older than now was left by a writer that was killed."""


def remove_stale_temps(path: Path, older_than_s: float = STALE_TEMP_S) -> None:
    """Delete the temporary files (``.NAME.*.tmp`` beside ``path``) that killed atomic writes of it left behind."""
    now = time.time()
    for temp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            if now - temp.stat().st_mtime > older_than_s:
                temp.unlink()
        except OSError:
            continue


@contextmanager
def atomic_writer(path: Path, encoding: str = "utf-8") -> Iterator[TextIO]:
    """A text handle whose content replaces ``path`` only when the block ends without an exception.

    The text goes to a temporary file in the same folder, is flushed and fsynced, then renamed over the target; on
    an exception the temporary file is removed and ``path`` is left as it was. An existing file keeps its
    permission bits; a new one gets the usual ``0o666`` less the umask.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask()
    remove_stale_temps(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write_text(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Replace ``path`` with ``text`` so that a reader sees the old file or the new one, never half of it
    (see :func:`atomic_writer`)."""
    with atomic_writer(path, encoding) as handle:
        handle.write(text)


def discard_folder(folder: Path) -> None:
    """Remove a folder that other processes may be reading or removing too: it is renamed away first (atomic, so
    one process moves it and the others find nothing; readers keep the files they have open), then deleted."""
    stale = folder.with_name(f"{folder.name}.stale-{os.getpid()}-{time.time_ns()}")
    try:
        folder.rename(stale)
    except FileNotFoundError:
        return
    shutil.rmtree(stale, ignore_errors=True)
