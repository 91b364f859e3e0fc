"""``run.json``: the record of one run, read and replaced atomically.

A run's state moves ``queued -> running -> (stopping ->) finished | failed | stopped``. Both the launching process and
the child update the record, so every read-modify-write (:func:`update_run`) holds an exclusive lock on
``<run_dir>/.run.lock`` (filelock: ``flock`` on POSIX, ``msvcrt`` on Windows).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

from lmf_engine.util.fs import atomic_write_text

RUN_FILE = "run.json"
CONFIG_FILE = "config.yaml"
STDOUT_FILE = "stdout.log"
TRAINER_LOG_FILE = "trainer_log.jsonl"
LOCK_FILE = ".run.lock"
START_LOCK_FILE = ".start.lock"
"""Held by a start while it checks the folder and writes its queued record (see ``launcher.claimed``)."""

STATES = ("queued", "running", "stopping", "finished", "failed", "stopped")
ACTIVE_STATES = frozenset({"queued", "running", "stopping"})
FINAL_STATES = frozenset({"finished", "failed", "stopped"})


class RunRecordError(ValueError):
    """``run.json`` is missing, unreadable or not a run record."""


@dataclass
class RunRecord:
    """The contents of ``run.json``.

    Times are Unix seconds; ``command`` is the argv that started the child and ``cwd`` the workspace root it ran in
    (relative paths of the config resolve against it).
    """

    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    name: str = ""
    state: str = "queued"
    pid: int | None = None
    pgid: int | None = None
    command: list[str] = field(default_factory=list)
    host: str = field(default_factory=socket.gethostname)
    started_at: float | None = None
    ended_at: float | None = None
    exit_code: int | None = None
    error: str | None = None
    config_path: str | None = None
    resumed_from: str | None = None
    cwd: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise RunRecordError(f"unknown run state {self.state!r}; expected one of {', '.join(STATES)}")

    @property
    def active(self) -> bool:
        """True while the run is queued, running or stopping."""
        return self.state in ACTIVE_STATES

    @property
    def final(self) -> bool:
        """True once the run has finished, failed or stopped."""
        return self.state in FINAL_STATES

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written to ``run.json`` (unknown keys read earlier are kept at top level)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        return {**self.extra, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        """Build a record from a ``run.json`` object; keys this version does not know go to ``extra``."""
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        values = {k: v for k, v in data.items() if k in known}
        extra = {k: v for k, v in data.items() if k not in known}
        if isinstance(values.get("command"), str):
            values["command"] = [values["command"]]
        return cls(**values, extra=extra)


def _apply(record: RunRecord, fields: dict[str, Any]) -> RunRecord:
    known = {f.name for f in dataclasses.fields(RunRecord)} - {"extra"}
    values = {k: v for k, v in fields.items() if k in known}
    extra = {**record.extra, **{k: v for k, v in fields.items() if k not in known}}
    if values.get("state") in ACTIVE_STATES and (
        record.final or (record.state == "stopping" and values["state"] != "stopping")
    ):
        values.pop("state")  # the run ended, or a stop was asked for, before this writer caught up
    return dataclasses.replace(record, **values, extra=extra)


def read_run(run_dir: str | os.PathLike[str]) -> RunRecord:
    """Read ``<run_dir>/run.json``; :class:`RunRecordError` when it is missing or not a run record."""
    path = Path(run_dir) / RUN_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise RunRecordError(f"{path}: no run record here") from err
    except (OSError, ValueError) as err:
        raise RunRecordError(f"{path}: cannot read run record: {err}") from err
    if not isinstance(data, dict):
        raise RunRecordError(f"{path}: expected a JSON object")
    try:
        return RunRecord.from_dict(data)
    except TypeError as err:
        raise RunRecordError(f"{path}: {err}") from err


def write_run(run_dir: str | os.PathLike[str], record: RunRecord) -> None:
    """Replace ``<run_dir>/run.json`` atomically (temp file, fsync, rename)."""
    text = json.dumps(record.to_dict(), indent=2, ensure_ascii=False) + "\n"
    atomic_write_text(Path(run_dir) / RUN_FILE, text)


@contextlib.contextmanager
def locked(run_dir: str | os.PathLike[str], name: str = LOCK_FILE) -> Iterator[None]:
    """Hold the run directory's record lock on ``name`` for a read-modify-write, waiting as long as it takes.

    filelock's ``FileLock``: an advisory ``flock`` on POSIX (so writers of earlier versions, which took ``flock``
    on the same file, still exclude this one), ``msvcrt.locking`` on Windows, a soft lock file where neither works.
    On POSIX the lock file stays in place. Not reentrant: asking again while holding it waits forever.
    """
    path = Path(run_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path):
        yield


def update_run(run_dir: str | os.PathLike[str], **fields: Any) -> RunRecord:
    """Change some fields of ``run.json`` under the lock and return the new record.

    Setting a final state also sets ``ended_at`` unless given; setting ``running`` sets ``started_at`` when empty.
    A state never goes back: a final record stays final, and a ``stopping`` one does not become ``queued`` or
    ``running`` again (a new start or a resume writes a fresh record with :func:`write_run`).
    """
    with locked(run_dir):
        record = read_run(run_dir)
        state = fields.get("state")
        if state in FINAL_STATES:
            fields.setdefault("ended_at", time.time())
        if state == "running" and record.started_at is None:
            fields.setdefault("started_at", time.time())
        record = _apply(record, fields)
        write_run(run_dir, record)
        return record
