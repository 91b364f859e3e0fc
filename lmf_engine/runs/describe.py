"""Words for a run's events and progress, shared by the CLI and the workbench.

Progress events carry LLaMA-Factory's trainer_log fields (``current_steps``, ``total_steps``, ``loss``, ``lr``,
``epoch``, ``throughput``, ``remaining_time``...); the names transformers logs (``step``, ``learning_rate``) are read
too.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

_SKIP = {"t", "kind"}
_MESSAGE_ONLY = {"phase", "rows_done", "rows_total"}
"""Fields of data-preparation log events that their message already says."""


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
        rest = _fields_text(event, _SKIP | _MESSAGE_ONLY | {"message"})
        body = f"{body}  {rest}" if rest else body
    elif kind == "state":
        body = str(event.get("state", ""))
        rest = _fields_text(event, _SKIP | {"state", "command"})
        body = f"{body}  {rest}" if rest else body
    else:
        body = _fields_text(event)
    return f"{stamp} {kind:<10} {body}".rstrip()
