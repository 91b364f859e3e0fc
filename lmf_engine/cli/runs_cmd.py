"""``lmf-engine runs list|show|logs|stop|resume|delete``: the runs of a workspace, live or finished."""

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .output import console, fail, print_json

if TYPE_CHECKING:
    from lmf_engine.runs.store import RunInfo

app = typer.Typer(help="List, inspect, follow, stop, resume and delete training runs.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Run name (a folder under --root) or the path of a run folder.")]
RootOpt = Annotated[Path | None, typer.Option("--root", help="Folder that holds the runs (default: ./runs).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _find(name: str, root: Path | None) -> "RunInfo":
    from lmf_engine.runs.record import RunRecordError
    from lmf_engine.runs.store import RunNotFoundError, find_run

    try:
        return find_run(name, root)
    except (RunNotFoundError, RunRecordError) as err:
        fail(str(err))


def _when(seconds: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds)) if seconds else ""


def _step(info: "RunInfo") -> str:
    from .run_view import progress_values

    if not info.progress:
        return ""
    values = progress_values(info.progress)
    return f"{values['step']}/{values['total']}" if values["total"] else str(values["step"] or "")


def _loss(info: "RunInfo") -> str:
    loss = info.progress.get("loss") if info.progress else None
    return f"{loss:.4f}" if isinstance(loss, int | float) else ""


@app.command("list")
def list_(root: RootOpt = None, as_json: JsonOpt = False) -> None:
    """Every run under the root, newest first, with its state and progress."""
    from rich.table import Table

    from lmf_engine.runs.store import default_root, list_runs

    runs = list_runs(root)
    if as_json:
        print_json([info.to_dict() for info in runs])
        return
    if not runs:
        typer.echo(f"no runs under {root or default_root()}", err=True)
        return
    table = Table(box=None, header_style="bold")
    for column in ("name", "state", "step", "loss", "started", "kind"):
        table.add_column(column)
    for info in runs:
        state = info.state + (" (lost)" if info.lost else "")
        started = _when(info.record.started_at) if info.record else ""
        kind = "LLaMA-Factory" if info.kind == "llamafactory" else ""
        table.add_row(info.name, state, _step(info), _loss(info), started, kind)
    console().print(table)


@app.command()
def show(name: NameArg, root: RootOpt = None, as_json: JsonOpt = False) -> None:
    """A run's record, progress, checkpoints, error and system use (from its system.jsonl)."""
    from lmf_engine.monitor.records import run_system_summary
    from lmf_engine.monitor.summary_text import summary_rows
    from lmf_engine.runs.launcher import newest_checkpoint

    from .run_view import format_duration, progress_text

    info = _find(name, root)
    checkpoint = newest_checkpoint(info.path)
    system = run_system_summary(info.path)
    if as_json:
        print_json(
            {
                **info.to_dict(),
                "newest_checkpoint": str(checkpoint) if checkpoint else None,
                "system": system.to_dict() if system.samples else None,
            }
        )
        return
    record = info.record
    rows = [("name", info.name), ("path", str(info.path)), ("state", info.state + (" (lost)" if info.lost else ""))]
    if info.kind == "llamafactory":
        rows.append(("kind", "LLaMA-Factory output folder"))
    if record is not None:
        end = record.ended_at or (time.time() if record.active else None)
        rows += [
            ("pid", str(record.pid or "")),
            ("host", record.host),
            ("started", _when(record.started_at)),
            ("ended", _when(record.ended_at)),
            ("duration", format_duration(end - record.started_at) if end and record.started_at else ""),
            ("exit code", "" if record.exit_code is None else str(record.exit_code)),
            ("command", " ".join(record.command)),
            ("resumed from", record.resumed_from or ""),
        ]
    if info.progress:
        shown = info.progress if info.active else {k: v for k, v in info.progress.items() if "remaining" not in k}
        rows.append(("progress", f"step {_step(info)}  {progress_text(shown)}"))
    rows.append(("checkpoint", str(checkpoint) if checkpoint else ""))
    rows += summary_rows(system)
    for key, value in rows:
        if value:
            typer.echo(f"{key:>13}: {value}")
    if record is not None and record.error:
        typer.echo(f"{'error':>13}: {record.error}")


def _lf_log_events(info: "RunInfo") -> list[dict]:
    from lmf_engine.runs.record import TRAINER_LOG_FILE

    events = []
    path = info.path / TRAINER_LOG_FILE
    if path.is_file():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                events.append({"kind": "progress", **entry})
    return events


@app.command()
def logs(
    name: NameArg,
    root: RootOpt = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new events until the run ends.")
    ] = False,
    lines: Annotated[int, typer.Option("--lines", "-n", help="Print only the last N events (0: all).", min=0)] = 0,
    stdout: Annotated[bool, typer.Option("--stdout", help="Print stdout.log (what the process printed).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the events as JSON lines.")] = False,
) -> None:
    """A run's events: progress, evaluations, checkpoints, state changes and errors.

    LLaMA-Factory folders show their trainer_log.jsonl. --follow prints new events until the run ends and exits with
    its end state (0 finished, 1 failed, 3 stopped); Ctrl-C stops following, never the run.
    """
    from lmf_engine.runs.liveness import tail_lines
    from lmf_engine.runs.record import STDOUT_FILE
    from lmf_engine.runs.store import tail_events

    from .run_view import EXIT_CODES, follow_to_end, show_events

    info = _find(name, root)
    out = console()
    if stdout:
        for line in tail_lines(info.path / STDOUT_FILE, count=lines or 10**9, max_bytes=1 << 40):
            typer.echo(line)
        return
    if info.record is None:
        events = _lf_log_events(info)
        show_events(events[-lines:] if lines else events, as_json=as_json, live=False, console=out)
        return
    events, offset = tail_events(info)
    show_events(events[-lines:] if lines else events, as_json=as_json, live=False, console=out)
    if follow:
        code = follow_to_end(info, offset=offset, as_json=as_json, console=out) if info.active else None
        raise typer.Exit(EXIT_CODES.get(info.state, 1) if code is None else code)


@app.command()
def stop(
    name: NameArg,
    root: RootOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="SIGKILL the run if it is still alive after --timeout.")
    ] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Wait (up to --timeout) for the run to end.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the run to end.", min=0)] = 60.0,
    as_json: JsonOpt = False,
) -> None:
    """Ask a run to stop: SIGTERM to its processes; the trainer finishes the step, saves a checkpoint and exits."""
    from lmf_engine.runs.store import RunStateError, open_run, stop_run

    info = _find(name, root)
    try:
        stop_run(info, force=force, timeout=timeout, wait=wait)
    except RunStateError as err:
        fail(str(err))
    info = open_run(info.path)
    if as_json:
        print_json(info.to_dict())
    elif info.state == "stopping":
        typer.echo(
            f"run {info.name} is stopping: it saves a checkpoint, then exits (lmf-engine runs show {info.name})"
        )
    else:
        typer.echo(f"run {info.name} {info.state}" + (f": {info.record.error}" if info.record.error else ""))


@app.command()
def resume(
    name: NameArg,
    root: RootOpt = None,
    detach: Annotated[bool, typer.Option("--detach", "-d", help="Print the run's name and return at once.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output: the run, then one event per line.")] = False,
) -> None:
    """Start a stopped or failed run again from its newest checkpoint and follow it (unless --detach)."""
    from lmf_engine.runs.store import events_size, resume_run

    from .train_cmd import start_and_show

    info = _find(name, root)
    start_and_show(lambda: resume_run(info), detach=detach, as_json=as_json, offset=events_size(info))


@app.command()
def delete(
    name: NameArg,
    root: RootOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a run folder with its checkpoints (refused while the run is active)."""
    from lmf_engine.runs.store import RunStateError, delete_run

    info = _find(name, root)
    if not yes and not typer.confirm(f"Delete {info.path} and everything in it?"):
        raise typer.Exit(1)
    try:
        delete_run(info)
    except RunStateError as err:
        fail(str(err))
    typer.echo(f"deleted {info.path}")
