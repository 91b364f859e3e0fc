"""The runs of a workspace: list them, open one by name or path, stop, resume, delete and tail it.

A run folder of lmf workbench has ``run.json``; a plain LLaMA-Factory output_dir (``trainer_log.jsonl`` and/or
``trainer_state.json``, no ``run.json``) opens too, read-only, with state ``finished`` or ``unknown``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .events import EVENTS_FILE, follow_events, read_events
from .launch_plan import RAY_MODULE
from .launcher import RUNS_FOLDER, LaunchedRun, start_run
from .liveness import check_lost, on_this_host, record_alive, tail_lines
from .record import CONFIG_FILE, RUN_FILE, TRAINER_LOG_FILE, RunRecord, RunRecordError, read_run, update_run

TRAINER_STATE_FILE = "trainer_state.json"

RunKind = Literal["run", "llamafactory"]


class RunNotFoundError(LookupError):
    """No run folder has that name or path."""


class RunStateError(RuntimeError):
    """The run is in a state that does not allow what was asked (stop a finished run, delete a running one...)."""


@dataclass
class RunInfo:
    """One run folder as a reader sees it now. ``state`` is the record's state, or for a LLaMA-Factory folder
    ``finished`` (trainer_state.json is there or the last step was logged) or ``unknown``."""

    name: str
    path: Path
    kind: RunKind
    state: str
    record: RunRecord | None = None
    progress: dict[str, Any] | None = None

    @property
    def active(self) -> bool:
        return self.record is not None and self.record.active

    @property
    def lost(self) -> bool:
        return self.record is not None and bool(self.record.extra.get("lost"))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the record's fields included) for ``--json`` output and the UI."""
        data: dict[str, Any] = {"name": self.name, "path": str(self.path), "kind": self.kind, "state": self.state}
        if self.record is not None:
            data.update({k: v for k, v in self.record.to_dict().items() if k not in data})
        data["lost"] = self.lost
        data["progress"] = self.progress
        return data


def last_progress(run_dir: Path) -> dict[str, Any] | None:
    """The last complete entry of ``trainer_log.jsonl`` (LLaMA-Factory's progress lines), or None.

    An entry without a loss (an evaluation, the end of training) gets the loss of the latest entry that has one.
    """
    entries = []
    for line in tail_lines(run_dir / TRAINER_LOG_FILE, count=16):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    if not entries:
        return None
    last = dict(entries[-1])
    if last.get("loss") is None:
        last["loss"] = next((e["loss"] for e in reversed(entries) if e.get("loss") is not None), None)
    return last


def is_run_dir(path: Path) -> bool:
    """True for a folder with run.json, trainer_log.jsonl or trainer_state.json."""
    return path.is_dir() and any((path / name).is_file() for name in (RUN_FILE, TRAINER_LOG_FILE, TRAINER_STATE_FILE))


def open_run(path: str | os.PathLike[str]) -> RunInfo:
    """Read one run folder, turning a run whose process is gone into failed (lost)."""
    path = Path(path).resolve()
    if not is_run_dir(path):
        raise RunNotFoundError(
            f"{path} is not a run folder (no {RUN_FILE}, {TRAINER_LOG_FILE} or {TRAINER_STATE_FILE})"
        )
    progress = last_progress(path)
    if (path / RUN_FILE).is_file():
        record = check_lost(path)
        return RunInfo(path.name, path, "run", record.state, record, progress)
    done = (path / TRAINER_STATE_FILE).is_file() or bool(
        progress and progress.get("total_steps") and progress.get("current_steps") == progress.get("total_steps")
    )
    return RunInfo(path.name, path, "llamafactory", "finished" if done else "unknown", None, progress)


def default_root(workspace: str | os.PathLike[str] | None = None) -> Path:
    """``<workspace>/runs``, the workspace being the current directory by default."""
    return Path(workspace or Path.cwd()) / RUNS_FOLDER


def _sort_key(info: RunInfo) -> float:
    if info.record is not None and info.record.started_at:
        return info.record.started_at
    return info.path.stat().st_mtime


def list_runs(root: str | os.PathLike[str] | None = None) -> list[RunInfo]:
    """Every run folder directly under ``root`` (default: ``./runs``), newest first; [] when root is missing."""
    root = Path(root) if root is not None else default_root()
    if not root.is_dir():
        return []
    runs = []
    for child in root.iterdir():
        if is_run_dir(child):
            try:
                runs.append(open_run(child))
            except (RunRecordError, OSError):
                continue
    return sorted(runs, key=_sort_key, reverse=True)


def find_run(name_or_path: str, root: str | os.PathLike[str] | None = None) -> RunInfo:
    """A run by folder name under ``root`` (default: ``./runs``), or by path."""
    root = Path(root) if root is not None else default_root()
    for candidate in (root / name_or_path, Path(name_or_path).expanduser()):
        if is_run_dir(candidate):
            return open_run(candidate)
    names = ", ".join(info.name for info in list_runs(root)) or "none"
    raise RunNotFoundError(f"no run {name_or_path!r} under {root} (runs there: {names})")


def _require_run(info: RunInfo, action: str) -> RunRecord:
    if info.record is None:
        raise RunStateError(
            f"{info.path} is a LLaMA-Factory output folder, not a run of lmf workbench: cannot {action}"
        )
    return info.record


def _wait_until(predicate: Callable[[], bool], timeout: float, poll: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)


def stop_run(info: RunInfo, *, force: bool = False, timeout: float = 30.0, wait: bool = False) -> RunRecord:
    """Ask the run to stop: state ``stopping``, SIGTERM to its process group (the trainer saves and exits).

    With ``wait`` wait up to ``timeout`` seconds for it to end. With ``force``, a run still alive after ``timeout``
    gets SIGKILL and is recorded ``stopped``.
    """
    record = check_lost(info.path, _require_run(info, "stop it"))
    if not record.active:
        raise RunStateError(f"run {info.name!r} is not running (state {record.state})")
    if not on_this_host(record):
        raise RunStateError(f"run {info.name!r} runs on host {record.host}; stop it there")
    if record.pgid is None and record.pid is None:
        raise RunStateError(f"run {info.name!r} is starting and has no process yet; try again in a moment")
    update_run(info.path, state="stopping")
    _signal(record, signal.SIGTERM)
    if not (wait or force):
        return read_run(info.path)
    ended = _wait_until(lambda: not record_alive(record), timeout)
    if not ended and force:
        _signal(record, signal.SIGKILL)
        _wait_until(lambda: not record_alive(record), 5.0)
        update_run(info.path, state="stopped", error=f"killed with SIGKILL: still running {timeout:g}s after SIGTERM")
    return check_lost(info.path)


def _signal(record: RunRecord, signum: signal.Signals) -> None:
    try:
        if record.pgid:
            os.killpg(record.pgid, signum)
        elif record.pid:
            os.kill(record.pid, signum)
    except ProcessLookupError:
        pass


def resume_run(
    info: RunInfo, *, checkpoint: Path | None = None, entry_module: str | None = None, workspace: str | None = None
) -> LaunchedRun:
    """Start a stopped, failed or finished run again, with its own config.yaml, from ``checkpoint`` (a
    ``checkpoint-N`` folder of the run) or else its newest checkpoint."""
    from lmf_engine.config import load_config

    record = check_lost(info.path, _require_run(info, "resume it"))
    if record.active:
        raise RunStateError(f"run {info.name!r} is {record.state}; it cannot be resumed while it runs")
    if checkpoint is not None and not (Path(checkpoint).is_dir() and Path(checkpoint).resolve().parent == info.path):
        raise RunStateError(f"{checkpoint} is not a checkpoint folder of run {info.name!r}")
    config = load_config(info.path / CONFIG_FILE)
    kwargs: dict[str, Any] = {"entry_module": entry_module} if entry_module else {}
    if RAY_MODULE in (record.command or []):
        kwargs["environ"] = {**os.environ, "USE_RAY": "1"}  # a Ray run resumes on Ray
    return start_run(
        config, run_dir=info.path, resume=True, checkpoint=checkpoint, workspace=workspace or record.cwd, **kwargs
    )


def delete_run(info: RunInfo) -> None:
    """Delete the run folder; refuses while the run is active."""
    if info.record is not None and check_lost(info.path, info.record).active:
        raise RunStateError(f"run {info.name!r} is {info.record.state}; stop it before deleting it")
    shutil.rmtree(info.path)


def tail_events(info: RunInfo, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The events after byte ``offset`` and the offset to read on from (see :func:`read_events`)."""
    return read_events(info.path, offset)


def events_size(info: RunInfo) -> int:
    """The current size of ``events.jsonl``: the offset from which only new events are read."""
    try:
        return (info.path / EVENTS_FILE).stat().st_size
    except FileNotFoundError:
        return 0


def follow_run(info: RunInfo, offset: int = 0, poll_interval: float = 0.5) -> Iterator[dict[str, Any]]:
    """Yield the run's events from ``offset`` as they come, until it has ended (lost detection included)."""
    if info.record is None:
        return iter(())
    return follow_events(
        info.path, offset, poll_interval=poll_interval, is_done=lambda: not check_lost(info.path).active
    )
