"""Showing a run on the terminal: one text line per event, a live progress bar, and the end-state exit code.

Progress events carry LLaMA-Factory's trainer_log fields (``current_steps``, ``total_steps``, ``loss``, ``lr``,
``epoch``, ``throughput``, ``remaining_time``...); the names transformers logs (``step``, ``learning_rate``) are read
too.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from lmf_engine.runs.store import RunInfo

EXIT_CODES = {"finished": 0, "failed": 1, "stopped": 3}
"""Exit code of a command that followed a run to its end (2 is taken by user errors)."""

_SKIP = {"t", "kind"}


def _first(event: dict[str, Any], *names: str) -> Any:
    for name in names:
        if event.get(name) is not None:
            return event[name]
    return None


def progress_values(event: dict[str, Any]) -> dict[str, Any]:
    """Step, total, loss, lr, epoch, tokens/s and ETA of a progress event (None where the event lacks one)."""
    return {
        "step": _first(event, "current_steps", "step", "global_step"),
        "total": _first(event, "total_steps", "max_steps"),
        "loss": _first(event, "loss", "train_loss"),
        "lr": _first(event, "lr", "learning_rate"),
        "epoch": event.get("epoch"),
        "tokens_per_s": _first(event, "tokens_per_second", "throughput"),
        "eta": _first(event, "remaining_time", "remaining_s", "eta"),
    }


def _number(value: Any, spec: str) -> str:
    return format(value, spec) if isinstance(value, int | float) else str(value)


def progress_text(event: dict[str, Any], eta: float | None = None) -> str:
    """``loss 1.2345  lr 5.0e-03  epoch 0.50  812 tok/s  ETA 0:00:12`` (``eta`` when the event has none)."""
    values = progress_values(event)
    if values["eta"] is None:
        values["eta"] = eta
    parts = []
    if values["loss"] is not None:
        parts.append(f"loss {_number(values['loss'], '.4f')}")
    if values["lr"] is not None:
        parts.append(f"lr {_number(values['lr'], '.2e')}")
    if values["epoch"] is not None:
        parts.append(f"epoch {_number(values['epoch'], '.2f')}")
    if values["tokens_per_s"] is not None:
        parts.append(f"{_number(values['tokens_per_s'], '.0f')} tok/s")
    eta = values["eta"]
    if isinstance(eta, int | float):
        eta = str(timedelta(seconds=int(eta)))
    if eta:
        parts.append(f"ETA {eta}")
    return "  ".join(parts)


def estimate_eta(first: dict[str, Any], last: dict[str, Any]) -> float | None:
    """Seconds left, from the pace between two progress events (None when it cannot be told)."""
    a, b = progress_values(first), progress_values(last)
    numbers = (a["step"], b["step"], b["total"], first.get("t"), last.get("t"))
    if not all(isinstance(n, int | float) for n in numbers) or b["step"] <= a["step"]:
        return None
    per_step = (last["t"] - first["t"]) / (b["step"] - a["step"])
    return max(0.0, per_step * (b["total"] - b["step"]))


def _fields_text(event: dict[str, Any], skip: set[str] = _SKIP) -> str:
    return "  ".join(
        f"{k} {_number(v, '.4g') if isinstance(v, float) else v}" for k, v in event.items() if k not in skip
    )


def format_event(event: dict[str, Any]) -> str:
    """One line for an event: ``HH:MM:SS kind  details``."""
    stamp = time.strftime("%H:%M:%S", time.localtime(event["t"])) if isinstance(event.get("t"), int | float) else ""
    kind = str(event.get("kind", "?"))
    if kind == "progress":
        values = progress_values(event)
        step = values["step"]
        where = f"step {step}/{values['total']}" if values["total"] else f"step {step}"
        body = f"{where}  {progress_text(event)}"
    elif kind in ("log", "error") and isinstance(event.get("message"), str):
        body = event["message"]
        rest = _fields_text(event, _SKIP | {"message"})
        body = f"{body}  {rest}" if rest else body
    elif kind == "state":
        body = str(event.get("state", ""))
        rest = _fields_text(event, _SKIP | {"state", "command"})
        body = f"{body}  {rest}" if rest else body
    else:
        body = _fields_text(event)
    return f"{stamp} {kind:<10} {body}".rstrip()


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
