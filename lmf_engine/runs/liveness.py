"""Whether a run's processes are alive, and turning a run whose processes are gone into ``failed`` (lost)."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from .record import STDOUT_FILE, RunRecord, locked, read_run, write_run

LOST_TAIL_LINES = 20


def pid_alive(pid: int | None) -> bool:
    """True when process ``pid`` exists and is not a zombie waiting to be reaped."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def group_alive(pgid: int | None) -> bool:
    """True when process group ``pgid`` has a member that is not a zombie."""
    if not pgid or pgid <= 0:
        return False
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _group_has_live_member(pgid)


def record_alive(record: RunRecord) -> bool:
    """True when the run's process group (or, without one, its process) is still there."""
    if record.pgid:
        return group_alive(record.pgid)
    return pid_alive(record.pid)


def _is_zombie(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


def _group_has_live_member(pgid: int) -> bool:
    import psutil

    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return False


def tail_lines(path: Path, count: int = LOST_TAIL_LINES, max_bytes: int = 64 * 1024) -> list[str]:
    """The last ``count`` lines of a text file (reading at most its last ``max_bytes``); [] when it is missing."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - max_bytes))
            data = handle.read()
    except FileNotFoundError:
        return []
    lines = data.decode("utf-8", errors="replace").splitlines()
    if size > max_bytes and lines:
        lines = lines[1:]
    return lines[-count:]


def lost_message(run_dir: Path) -> str:
    """The error text of a lost run: what happened and the end of ``stdout.log``."""
    tail = tail_lines(Path(run_dir) / STDOUT_FILE)
    message = "lost: the run's process ended without recording how it ended"
    if tail:
        message += f"; last lines of {STDOUT_FILE}:\n" + "\n".join(tail)
    return message


def on_this_host(record: RunRecord) -> bool:
    """True when the run's processes live on this machine (so their ids mean something here)."""
    return record.host == socket.gethostname()


def check_lost(run_dir: str | os.PathLike[str], record: RunRecord | None = None) -> RunRecord:
    """Return the run's record, first turning an active run whose processes are gone into ``failed`` (lost).

    The change is written to ``run.json`` so that every reader agrees. A queued run that has no process yet, and a
    run started on another host (a shared file system), are left alone.
    """
    run_dir = Path(run_dir)
    record = record or read_run(run_dir)
    if not record.active or (record.pid is None and record.pgid is None) or not on_this_host(record):
        return record
    if record_alive(record):
        return record
    with locked(run_dir):
        record = read_run(run_dir)
        if not record.active or record_alive(record):
            return record
        record.state = "failed"
        record.error = lost_message(run_dir)
        record.ended_at = record.ended_at or time.time()
        record.extra["lost"] = True
        write_run(run_dir, record)
    return record
