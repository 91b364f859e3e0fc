"""Start a run: prepare its directory (config.yaml, run.json) and spawn the child in its own process session.

The child survives the parent: it runs in a new session (no controlling terminal, so no SIGHUP when an SSH
connection drops), reads nothing from stdin and writes stdout and stderr to ``stdout.log``.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from lmf_engine.config import Config
from lmf_engine.util.fs import atomic_write_text

from .events import EVENTS_FILE, EventWriter
from .launch_plan import ENTRY_MODULE, LaunchPlan, plan_launch
from .liveness import check_lost
from .record import (
    CONFIG_FILE,
    LOCK_FILE,
    RUN_FILE,
    START_LOCK_FILE,
    STDOUT_FILE,
    RunRecord,
    RunRecordError,
    locked,
    update_run,
    write_run,
)

RUNS_FOLDER = "runs"


class RunStartError(ValueError):
    """The run cannot start (its output_dir holds a live or finished run, or the child could not be spawned)."""


@dataclass
class LaunchedRun:
    """A run just started: its directory, its record and the child process (for a parent that follows it)."""

    run_dir: Path
    record: RunRecord
    process: subprocess.Popen[bytes]
    plan: LaunchPlan


def default_run_name(config: Config) -> str:
    """``<stage>_<finetuning_type>_<YYYYmmdd-HHMMSS>``, the name of a run whose config sets no output_dir."""
    return f"{config.finetuning.stage}_{config.finetuning.finetuning_type}_{time.strftime('%Y%m%d-%H%M%S')}"


def resolve_run_dir(config: Config, workspace: Path, runs_root: Path | None = None, name: str | None = None) -> Path:
    """The run folder: the config's output_dir (relative to the workspace), else ``<runs_root>/<name>``."""
    if config.training.output_dir:
        path = Path(config.training.output_dir).expanduser()
        return (path if path.is_absolute() else workspace / path).resolve()
    root = runs_root if runs_root is not None else workspace / RUNS_FOLDER
    return (root / (name or default_run_name(config))).resolve()


def checkpoints(run_dir: Path) -> list[Path]:
    """The run's ``checkpoint-N`` folders, newest (largest N) first."""
    found = []
    for child in run_dir.glob("checkpoint-*"):
        suffix = child.name.removeprefix("checkpoint-")
        if child.is_dir() and suffix.isdigit():
            found.append((int(suffix), child))
    return [path for _, path in sorted(found, reverse=True)]


def newest_checkpoint(run_dir: Path) -> Path | None:
    """The ``checkpoint-N`` folder with the largest N, or None."""
    found = checkpoints(run_dir)
    return found[0] if found else None


def holds_files(run_dir: Path) -> bool:
    """True when the folder exists and holds anything but the run record's lock file."""
    return run_dir.is_dir() and any(child.name not in (LOCK_FILE, START_LOCK_FILE) for child in run_dir.iterdir())


def check_target(run_dir: Path, *, overwrite: bool, resume: bool) -> RunRecord | None:
    """Refuse a run directory that cannot take this start; return the run record already there, if any."""
    name = run_dir.name
    if run_dir.exists() and not run_dir.is_dir():
        raise RunStartError(f"output_dir {run_dir} is a file, not a folder")
    record = None
    if (run_dir / RUN_FILE).exists():
        try:
            record = check_lost(run_dir)
        except RunRecordError as err:
            if resume or not overwrite:
                raise RunStartError(f"{err}; set overwrite_output_dir: true to start a new run there") from None
    if record is not None and record.active:
        raise RunStartError(
            f"run {name!r} in {run_dir} is {record.state} "
            + (f"(pid {record.pid}); " if record.pid else "(another command is starting it); ")
            + f"stop it first: lmf-engine runs stop {name}, or choose another output_dir"
        )
    if resume:
        if record is None:
            raise RunStartError(f"no run of lmf workbench in {run_dir} to resume")
        return record
    if record is not None and record.state == "finished" and not overwrite:
        raise RunStartError(
            f"output_dir {run_dir} holds the finished run {name!r}; set overwrite_output_dir: true to replace it, "
            "or choose another output_dir"
        )
    if record is None and holds_files(run_dir) and not overwrite:
        raise RunStartError(
            f"output_dir {run_dir} is not empty; set overwrite_output_dir: true to write there anyway, "
            "or choose another output_dir"
        )
    return record


def write_run_config(run_dir: Path, config: Config) -> None:
    """Write the full, resolved config to ``<run_dir>/config.yaml``, with output_dir pointing at the run folder."""
    from lmf_engine.config.save import render_yaml

    values = config.to_flat()
    values["output_dir"] = str(run_dir)
    header = (
        f"# Resolved config of run {run_dir.name}, written by lmf-engine on {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
    )
    atomic_write_text(run_dir / CONFIG_FILE, header + render_yaml(values))


def _clear_previous_run(run_dir: Path) -> None:
    for name in (EVENTS_FILE, STDOUT_FILE, RUN_FILE):
        (run_dir / name).unlink(missing_ok=True)


def _spawn(plan: LaunchPlan, run_dir: Path, workspace: Path, environ: Mapping[str, str]) -> subprocess.Popen[bytes]:
    env = {**environ, "PYTHONUNBUFFERED": "1", "LMF_RUN_DIR": str(run_dir)}
    with open(run_dir / STDOUT_FILE, "ab") as log:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        log.write(f"=== lmf-engine {stamp}: {' '.join(plan.argv)}\n".encode())
        log.flush()
        return subprocess.Popen(
            plan.argv,
            cwd=workspace,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )


@dataclass(frozen=True)
class LaunchPreview:
    """What :func:`start_run` would do, without doing it: the run folder, the command, and what the folder holds."""

    run_dir: Path
    plan: LaunchPlan
    existing: RunRecord | None
    occupied: bool

    @property
    def command_text(self) -> str:
        """The child's command line, quoted for a shell."""
        return shlex.join(self.plan.argv)


def preview_launch(
    config: Config,
    *,
    workspace: str | os.PathLike[str] | None = None,
    runs_root: str | os.PathLike[str] | None = None,
    name: str | None = None,
    environ: Mapping[str, str] | None = None,
    gpu_count: int | None = None,
) -> LaunchPreview:
    """The run folder and command a start would use, and the run (or files) already in that folder.

    Raises ``LaunchError`` when the launch settings cannot be honoured; a folder holding a run is reported, not
    refused, so that a caller can offer to resume it, overwrite it or choose another name.
    """
    workspace = Path(workspace or Path.cwd()).resolve()
    target = resolve_run_dir(config, workspace, Path(runs_root) if runs_root else None, name)
    if target.exists() and not target.is_dir():
        raise RunStartError(f"output_dir {target} is a file, not a folder")
    existing = None
    if (target / RUN_FILE).exists():
        try:
            existing = check_lost(target)
        except RunRecordError:
            existing = None
    occupied = holds_files(target)
    plan = plan_launch(config, target, workspace=workspace, environ=environ, gpu_count=gpu_count)
    return LaunchPreview(target, plan, existing, occupied)


@contextlib.contextmanager
def claimed(run_dir: Path) -> Iterator[None]:
    """Create the run folder and hold its start lock while a start checks it and writes its queued record, so that of
    several starts on one folder at the same moment exactly one wins (the others find a queued run there)."""
    if run_dir.exists() and not run_dir.is_dir():
        raise RunStartError(f"output_dir {run_dir} is a file, not a folder")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        lock = locked(run_dir, START_LOCK_FILE)
        lock.__enter__()
    except OSError as err:
        raise RunStartError(
            f"output_dir {run_dir}: cannot create the run folder there ({err.strerror or err})"
        ) from None
    try:
        yield
    finally:
        lock.__exit__(None, None, None)


def start_run(
    config: Config,
    *,
    config_path: str | os.PathLike[str] | None = None,
    workspace: str | os.PathLike[str] | None = None,
    runs_root: str | os.PathLike[str] | None = None,
    name: str | None = None,
    run_dir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    checkpoint: Path | None = None,
    entry_module: str = ENTRY_MODULE,
    environ: Mapping[str, str] | None = None,
    gpu_count: int | None = None,
) -> LaunchedRun:
    """Prepare the run directory and start the child; return at once (the run goes on without this process).

    ``workspace`` (default: the current directory) is where relative paths of the config resolve and where the child
    runs. The run folder is ``run_dir``, else the config's output_dir, else ``<runs_root or workspace/runs>/<name>``.
    With ``resume`` the run folder's own config.yaml is kept and the child gets ``--resume`` (from ``checkpoint``, else
    the newest). ``entry_module`` is the
    module the child runs (tests pass a stand-in). Raises :class:`RunStartError` or ``LaunchError`` when it cannot
    start.
    """
    environ = os.environ if environ is None else environ
    workspace = Path(workspace or Path.cwd()).resolve()
    if not workspace.is_dir():
        raise RunStartError(f"workspace {workspace}: no such folder (relative paths of the config resolve against it)")
    if run_dir is not None:
        target = Path(run_dir).resolve()
    else:
        target = resolve_run_dir(config, workspace, Path(runs_root) if runs_root else None, name)
    plan = plan_launch(
        config, target, resume=resume, checkpoint=checkpoint, workspace=workspace, entry_module=entry_module,
        environ=environ, gpu_count=gpu_count,
    )  # fmt: skip
    with claimed(target):
        previous = check_target(target, overwrite=config.training.overwrite_output_dir, resume=resume)
        resumed_from = (checkpoint or newest_checkpoint(target)) if resume else None
        if not resume:
            _clear_previous_run(target)
            write_run_config(target, config)
        record = RunRecord(
            name=target.name,
            state="queued",
            command=plan.argv,
            started_at=time.time(),
            config_path=str(Path(config_path).resolve())
            if config_path
            else (previous.config_path if previous else None),
            resumed_from=str(resumed_from) if resumed_from else None,
            cwd=str(workspace),
        )
        if resume and previous is not None:
            record.id = previous.id
        write_run(target, record)
    with EventWriter(target) as events:
        events.emit("state", state="queued", command=plan.argv, resume=resume, num_processes=plan.num_processes)
    try:
        process = _spawn(plan, target, workspace, environ)
    except OSError as err:
        update_run(target, state="failed", error=f"could not start {plan.argv[0]}: {err}", exit_code=None)
        raise RunStartError(f"could not start the run's process {plan.argv[0]!r}: {err}") from None
    try:
        pgid = os.getpgid(process.pid)
    except ProcessLookupError:
        pgid = process.pid
    record = update_run(target, pid=process.pid, pgid=pgid if plan.signal_group else None)
    return LaunchedRun(target, record, process, plan)
