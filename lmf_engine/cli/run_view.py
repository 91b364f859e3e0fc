"""Showing a run on the terminal: one text line per event, a live progress bar, and the end-state exit code.

Progress events carry LLaMA-Factory's trainer_log fields (``current_steps``, ``total_steps``, ``loss``, ``lr``,
``epoch``, ``throughput``, ``remaining_time``...); the names transformers logs (``step``, ``learning_rate``) are read
too.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import typer

from lmf_engine.runs.describe import estimate_eta, format_event, progress_text, progress_values

if TYPE_CHECKING:
    from rich.console import Console

    from lmf_engine.runs.store import RunInfo

EXIT_CODES = {"finished": 0, "failed": 1, "stopped": 3}
"""Exit code of a command that followed a run to its end (2 is taken by user errors)."""


def format_duration(seconds: float | None) -> str:
    """``0:01:23`` (empty for None)."""
    return "" if seconds is None else str(timedelta(seconds=int(seconds)))


def end_summary(info: RunInfo) -> str:
    """``run NAME finished in 0:01:23`` plus the error when it failed."""
    record = info.record
    took = ""
    if record is not None and record.started_at and record.ended_at:
        took = f" in {format_duration(record.ended_at - record.started_at)}"
    text = f"run {info.name} {info.state}{took}"
    if record is not None and record.error:
        text += f": {record.error}"
    return text


def detach_hint(name: str) -> str:
    """What to type to look at or stop a run this command no longer follows."""
    return (
        f"run {name} keeps going in the background.\n"
        f"  follow it: lmf-engine runs logs {name} --follow\n"
        f"  stop it:   lmf-engine runs stop {name}"
    )


def show_events(events: Iterable[dict[str, Any]], *, as_json: bool, live: bool, console: Console) -> None:
    """Print events as JSON lines, as text lines, or (``live`` on a terminal) as text above a progress bar."""
    if as_json:
        for event in events:
            typer.echo(json.dumps(event, ensure_ascii=False))
        return
    if not (live and console.is_terminal):
        for event in events:
            console.print(format_event(event), markup=False)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[stats]}"),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("starting", total=None, stats="")
        first: dict[str, Any] | None = None
        logged: dict[str, Any] = {}  # loss and lr come with log events, between progress events
        for event in events:
            if event.get("kind") == "log":
                logged.update({k: event[k] for k in ("loss", "lr", "learning_rate") if k in event})
            if event.get("kind") == "progress":
                first = first or event
                values = progress_values(event)
                shown = {**logged, **{k: v for k, v in event.items() if v is not None}}
                progress.update(
                    task, description="training", completed=values["step"] or 0, total=values["total"],
                    stats=progress_text(shown, estimate_eta(first, event)),
                )  # fmt: skip
            else:
                if event.get("kind") == "state":
                    progress.update(task, description=str(event.get("state", "")))
                progress.console.print(format_event(event), markup=False)


def follow_to_end(
    info: RunInfo,
    *,
    offset: int = 0,
    process: subprocess.Popen[bytes] | None = None,
    as_json: bool = False,
    console: Console,
) -> int:
    """Show the run's events until it ends and return the exit code of its end state.

    Ctrl-C detaches: the run goes on, a hint says how to follow or stop it, and the code is 0. ``process`` is the
    child when this process started it: it is reaped at the end and its exit code recorded.
    """
    from lmf_engine.runs.record import update_run
    from lmf_engine.runs.store import follow_run, open_run

    try:
        show_events(follow_run(info, offset), as_json=as_json, live=True, console=console)
    except KeyboardInterrupt:
        typer.echo("\n" + detach_hint(info.name), err=True)
        return 0
    if process is not None:
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            code = None
        if code is not None and info.record is not None and open_run(info.path).record.exit_code is None:
            update_run(info.path, exit_code=code)
    final = open_run(info.path)
    if not as_json:
        typer.echo(end_summary(final), err=final.state != "finished")
    return EXIT_CODES.get(final.state, 1)
