"""Metric series built from a run's progress entries: lmf "progress"/"log"/"eval" events or trainer_log.jsonl lines.

A long run logs the same keys at every step, so entries are taken in batches: consecutive entries of one kind with
the same keys are collected, then each key's values are pulled out at once (``map(itemgetter(key), entries)``) and
added to its series as ``array('d')`` extensions. The per-entry Python work is a few dictionary reads, which is what
lets a 100,000-step run open in a fraction of a second. A batch ends when the keys change, when a step does not
follow the previous one, and at the end of each read, so every series still gets its points in step order, and a
resumed run (steps going back) drops what it logs again.
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import KeysView
from operator import itemgetter
from typing import Any

from .progress import Progress, StepRate, is_number, progress_from
from .run_config import effective_batch
from .series import Series

TOKENS = "tokens"
"""The name of the tokens-seen series (not a metric: the x axis of a comparison by tokens)."""

STEP_KEYS = frozenset({"t", "kind", "step", "current_steps", "global_step", "total_steps", "max_steps"})
"""Numbers of a log or eval event that are not metrics."""
PROGRESS_KEYS = STEP_KEYS | {
    "epoch",
    "percentage",
    "elapsed_s",
    "remaining_s",
    "elapsed_time",
    "remaining_time",
    "throughput",
    "tokens",
    "total_tokens",
    "phase",
}
"""Fields of a progress event that are not metrics (a stand-in trainer may put loss or lr in progress events)."""
TRAINER_LOG_KEYS = frozenset({"current_steps", "total_steps", "percentage", "elapsed_time", "remaining_time"})
"""Numbers of a trainer_log.jsonl line that are not metrics."""
NUMBER_TYPES = frozenset({int, float})
NOT_METRICS = frozenset({"data", "encode"})
"""Phases of log events that report data preparation (counts of rows), not training metrics."""
TRAINER_LOG_NAMES = {"throughput": "tokens_per_s", "total_tokens": TOKENS}
LOG_NAMES = {"num_input_tokens_seen": TOKENS}


class _Batch:
    """Consecutive entries with the same keys (in any order) and increasing steps, not yet in the series."""

    __slots__ = ("entries", "keys", "steps")

    def __init__(self) -> None:
        self.keys: KeysView[str] | tuple[()] = ()
        self.steps: list[float] = []
        self.entries: list[dict[str, Any]] = []

    def column(self, key: str) -> list[Any]:
        """The values of ``key``, in entry order."""
        return list(map(itemgetter(key), self.entries))

    def clear(self) -> None:
        self.keys = ()
        self.steps.clear()
        self.entries.clear()


def _numbers(steps: array, column: list[Any], nonzero: bool = False) -> tuple[array, array]:
    """The (step, value) pairs of a column whose value is a number (and not 0 with ``nonzero``)."""
    try:
        values = array("d", column)
    except TypeError:
        pairs = [(s, v) for s, v in zip(steps, column, strict=True) if is_number(v)]
        steps, values = array("d", [s for s, _ in pairs]), array("d", [v for _, v in pairs])
    else:
        if type(column[0]) is bool:
            return array("d"), array("d")
    if nonzero and 0.0 in values:
        pairs = [(s, v) for s, v in zip(steps, values, strict=True) if v]
        steps, values = array("d", [s for s, _ in pairs]), array("d", [v for _, v in pairs])
    return steps, values


class MetricsBuilder:
    """The series, tokens seen and latest progress of one run, fed with the entries of one file in file order:
    events.jsonl (:meth:`take_events`) or, with ``trainer_log``, trainer_log.jsonl (:meth:`take_trainer_log`).

    samples/s is the step rate between consecutive progress events times the effective batch, known from the run's
    config (:meth:`set_config`) and the number of processes of its "queued" state event.
    """

    def __init__(self, *, trainer_log: bool = False) -> None:
        self.series: dict[str, Series] = {}
        self.tokens = Series(TOKENS)
        self.last_entry: dict[str, Any] | None = None
        self.samples_per_s: float | None = None
        self.batch: int | None = None
        self._config: dict[str, Any] = {}
        self._processes: int | None = None
        self._train_step = float("-inf")
        self._rate = StepRate()
        self._progress = _Batch()
        self._logs = _Batch()
        self._log_names = TRAINER_LOG_NAMES if trainer_log else LOG_NAMES
        self._log_skip = TRAINER_LOG_KEYS if trainer_log else STEP_KEYS
        self._progress_tokens = False

    def set_config(self, values: dict[str, Any]) -> None:
        """The run's config values (for the effective batch)."""
        self._config = values
        self.batch = effective_batch(values, self._processes)

    def clear(self) -> None:
        """Forget everything (the file was replaced)."""
        self.series = {}
        self.tokens.clear()
        self.last_entry = None
        self.samples_per_s = None
        self._train_step = float("-inf")
        self._rate.reset()
        self._progress.clear()
        self._logs.clear()
        self._progress_tokens = False
        self._processes = None
        self.batch = None

    def progress(self, updated_t: float | None = None) -> Progress:
        """The latest progress entry as a :class:`Progress` (empty before the first one)."""
        entry = self.last_entry
        if entry is None:
            return Progress()
        training = entry.get("phase", "train") == "train"
        return progress_from(entry, self.samples_per_s if training else None, updated_t)

    # --- lmf events -----------------------------------------------------------------------------------------

    def take_events(self, events: list[dict[str, Any]], kept: deque[dict[str, Any]]) -> None:
        """Take events.jsonl events; those that are not progress or plain metric logs go to ``kept``."""
        progress, logs = self._progress, self._logs
        progress_entries, progress_steps = progress.entries, progress.steps
        log_entries, log_steps = logs.entries, logs.steps
        train_step = self._train_step
        last_entry = self.last_entry
        for event in events:
            kind = event.get("kind")
            if kind == "progress":
                last_entry = event
                step = event.get("step")
                if step is None:
                    step = event.get("current_steps")
                if type(step) not in NUMBER_TYPES or event.get("phase", "train") != "train":
                    continue
                if step <= train_step:
                    if step < train_step:
                        self._rewind(step, keep_step=True)
                    self._flush_progress()
                train_step = step
                if event.keys() != progress.keys:
                    self._flush_progress()
                    progress.keys = event.keys()
                progress_entries.append(event)
                progress_steps.append(step)
            elif kind == "log" and event.get("phase") in NOT_METRICS:
                kept.append(event)
            elif kind == "log" or kind == "eval":
                step = event.get("step")
                if type(step) not in NUMBER_TYPES:
                    step = train_step
                if step >= 0:
                    if event.keys() != logs.keys or (log_steps and step <= log_steps[-1]):
                        self._flush_logs()
                        logs.keys = event.keys()
                    log_entries.append(event)
                    log_steps.append(step)
                if kind == "eval" or "message" in event or step < 0:
                    kept.append(event)
            else:
                if kind == "state" and event.get("state") == "queued" and is_number(event.get("num_processes")):
                    self._flush_progress()
                    self._processes = int(event["num_processes"])
                    self.batch = effective_batch(self._config, self._processes)
                kept.append(event)
        self._train_step, self.last_entry = train_step, last_entry
        self.flush()

    def _flush_progress(self) -> None:
        batch = self._progress
        if not batch.entries:
            return
        steps = array("d", batch.steps)
        for key in batch.keys:
            if key == "tokens" or key == "total_tokens":
                self._progress_tokens = True
                self.tokens.extend(*_numbers(steps, batch.column(key), nonzero=True))
            elif key == "throughput":
                self._extend("tokens_per_s", *_numbers(steps, batch.column(key)))
            elif key == "t":
                self._samples(*self._rate.rates(*_numbers(steps, batch.column(key))))
            elif key not in PROGRESS_KEYS:
                self._extend(key, *_numbers(steps, batch.column(key)))
        batch.clear()

    def _samples(self, steps: array, rates: array) -> None:
        if self.batch and rates:
            self._extend("samples_per_s", steps, array("d", [rate * self.batch for rate in rates]))
            self.samples_per_s = self.series["samples_per_s"].last

    # --- trainer_log.jsonl ----------------------------------------------------------------------------------

    def take_trainer_log(self, lines: list[dict[str, Any]]) -> None:
        """Take trainer_log.jsonl lines (a LLaMA-Factory output folder): each is progress and metrics at once."""
        logs = self._logs
        for line in lines:
            step = line.get("current_steps")
            if type(step) not in NUMBER_TYPES:
                continue
            self.last_entry = line
            if step < self._train_step:
                self._rewind(step, keep_step=False)
            self._train_step = step
            if line.keys() != logs.keys or (logs.steps and step <= logs.steps[-1]):
                self._flush_logs()
                logs.keys = line.keys()
            logs.entries.append(line)
            logs.steps.append(step)
        self.flush()

    # --- batches --------------------------------------------------------------------------------------------

    def _flush_logs(self) -> None:
        batch = self._logs
        if not batch.entries:
            return
        steps = array("d", batch.steps)
        for key in batch.keys:
            if key in self._log_skip:
                continue
            name = self._log_names.get(key, key)
            if name != TOKENS:
                self._extend(name, *_numbers(steps, batch.column(key)))
            elif not (self._progress_tokens or "tokens" in self._progress.keys):
                self.tokens.extend(*_numbers(steps, batch.column(key), nonzero=True))
        batch.clear()

    def flush(self) -> None:
        """Turn the pending entries into series points."""
        self._flush_progress()
        self._flush_logs()

    def _extend(self, name: str, steps: array, values: array) -> None:
        """Add points to the series ``name``, made when it first gets one."""
        if not values:
            return
        series = self.series.get(name)
        if series is None:
            series = self.series[name] = Series(name)
        series.extend(steps, values)

    def _rewind(self, step: float, *, keep_step: bool) -> None:
        """A resumed run went back to ``step``: drop what was logged after it (and at it, unless ``keep_step``)."""
        self.flush()
        for series in (*self.series.values(), self.tokens):
            if keep_step:
                series.drop_after(step)
            else:
                series.drop_from(step)
        self._rate.reset()
