"""Where a run stands: its latest progress entry (an lmf "progress" event or a LLaMA-Factory trainer_log line) as
plain numbers, and the step rate behind samples/s."""

from __future__ import annotations

import math
import re
from array import array
from dataclasses import dataclass
from typing import Any

_DURATION = re.compile(r"^\s*(?:(\d+) days?, )?(\d+):(\d{1,2}):(\d{1,2}(?:\.\d*)?)\s*$")


@dataclass
class Progress:
    """The latest progress of a run; a field the run did not report is None. Times are seconds, ``updated_t`` is
    the Unix time of the entry (for a LLaMA-Factory folder, of the trainer_log.jsonl write)."""

    step: int | None = None
    total: int | None = None
    epoch: float | None = None
    percentage: float | None = None
    elapsed_s: float | None = None
    eta_s: float | None = None
    tokens_per_s: float | None = None
    samples_per_s: float | None = None
    tokens_seen: float | None = None
    phase: str | None = None
    updated_t: float | None = None


def is_number(value: Any) -> bool:
    """True for an int or a float (not a bool)."""
    kind = type(value)
    return kind is float or kind is int


def parse_duration(text: Any) -> float | None:
    """Seconds of ``str(timedelta)`` text as trainer_log.jsonl writes it (``0:01:02``, ``1 day, 2:03:04``)."""
    if is_number(text):
        return float(text)
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None:
        return None
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _first(entry: dict[str, Any], *names: str) -> Any:
    for name in names:
        value = entry.get(name)
        if value is not None:
            return value
    return None


def _number(value: Any) -> float | None:
    return float(value) if is_number(value) else None


def _int(value: Any) -> int | None:
    return int(value) if is_number(value) else None


def progress_from(entry: dict[str, Any], samples_per_s: float | None, updated_t: float | None) -> Progress:
    """The :class:`Progress` of one progress event or trainer_log line (both sets of names are read)."""
    elapsed = _first(entry, "elapsed_s", "elapsed_time")
    remaining = _first(entry, "remaining_s", "remaining_time")
    phase = entry.get("phase")
    return Progress(
        step=_int(_first(entry, "step", "current_steps")),
        total=_int(_first(entry, "total_steps", "max_steps")),
        epoch=_number(entry.get("epoch")),
        percentage=_number(entry.get("percentage")),
        elapsed_s=parse_duration(elapsed),
        eta_s=parse_duration(remaining),
        tokens_per_s=_number(_first(entry, "throughput", "tokens_per_second")),
        samples_per_s=samples_per_s,
        tokens_seen=_number(_first(entry, "tokens", "total_tokens")),
        phase=phase if isinstance(phase, str) else None,
        updated_t=_number(entry.get("t")) or updated_t,
    )


class StepRate:
    """Optimizer steps per second between consecutive (step, time) readings."""

    def __init__(self) -> None:
        self._step = math.nan
        self._time = math.nan

    def reset(self) -> None:
        """Forget the last reading (a resumed run starts counting again)."""
        self._step = self._time = math.nan

    def rates(self, steps: array, times: array) -> tuple[array, array]:
        """Take readings in order; the steps at which the rate since the previous reading is known, and the rates.

        A reading whose step or time does not move forward gives no rate.
        """
        if not steps:
            return array("d"), array("d")
        before_steps = array("d", [self._step])
        before_steps.extend(steps[:-1])
        before_times = array("d", [self._time])
        before_times.extend(times[:-1])
        self._step, self._time = steps[-1], times[-1]
        pairs = [
            (step, (step - step0) / (time - time0))
            for step, time, step0, time0 in zip(steps, times, before_steps, before_times, strict=True)
            if step > step0 and time > time0
        ]
        return array("d", [p[0] for p in pairs]), array("d", [p[1] for p in pairs])
