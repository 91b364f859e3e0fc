"""One poll of a run, done in a worker thread: read what the run appended, and build the charts that changed.

:class:`RunPoller` owns a :class:`lmf_engine.runs.history.RunHistory` and is only ever used by one thread at a time
(the view starts a poll only when the previous one has ended), so the history needs no lock. What the UI needs is
returned as a :class:`PollResult` of plain values and built chart text.
"""

from dataclasses import dataclass, field
from pathlib import Path

from rich.text import Text

from lmf_engine.monitor.samples import SystemSample
from lmf_engine.monitor.summary import SystemSummary
from lmf_engine.runs.describe import format_event
from lmf_engine.runs.history import RunHistory
from lmf_engine.runs.progress import Progress
from lmf_engine.runs.series import Series
from lmf_engine.runs.store import RunInfo

from .charts import ChartLine, ChartSpec, Palette, build_chart

MAIN_METRICS = ("loss", "eval_loss", "lr", "grad_norm", "tokens_per_s", "samples_per_s")
"""Charts shown first, in this order; every other logged scalar follows in name order."""
HIDDEN_METRICS = frozenset({"epoch", "step", "t", "total_flos", "num_input_tokens_seen", "train_runtime"})
READ_BUDGET_S = 0.2
"""A poll reads the run's files for about this long at most; a long run's curves fill in over a few polls."""
SUMMARY_PREFIX = "train_"
"""transformers logs the whole run's figures once at its end (train_loss, train_runtime...): not charted."""
SHOWN_EVENTS = 300
SHOWN_STDOUT = 300


@dataclass(frozen=True)
class ChartRequest:
    """How the view wants its charts: the size of each chart widget in view, and for charts not shown yet the size
    they will have and how many of them will be in view (built now, so that they appear drawn), the options and the
    colours."""

    sizes: dict[str, tuple[int, int]]
    new_size: tuple[int, int] | None
    new_count: int
    smoothing: float
    log_y: bool
    palette: Palette
    force: bool = False


@dataclass(frozen=True)
class LogUpdate:
    """Lines for a log view: to add at its end, or (``replace``) to show instead of what it holds."""

    lines: list[str]
    replace: bool


@dataclass
class PollResult:
    """What changed in the run since the last poll. ``charts`` maps a metric to its text and size."""

    generation: int
    info: RunInfo | None
    progress: Progress | None
    metrics: list[str]
    charts: dict[str, tuple[Text, tuple[int, int], bool]] = field(default_factory=dict)
    events: LogUpdate | None = None
    stdout: LogUpdate | None = None
    checkpoints: list[str] = field(default_factory=list)
    system_summary: SystemSummary | None = None
    latest_system: SystemSample | None = None
    complete: bool = True
    error: str | None = None


def system_series(samples: list[SystemSample]) -> dict[str, Series]:
    """GPU utilisation and memory (GiB) of each device over the run's life, x in minutes since the first sample."""
    found: dict[str, Series] = {}
    if not samples:
        return found
    start = samples[0].t
    for sample in samples:
        minute = (sample.t - start) / 60
        for gpu in sample.gpus:
            if gpu.util is not None:
                found.setdefault(f"gpu{gpu.index} util %", Series(f"gpu{gpu.index} util %")).append(minute, gpu.util)
            memory = gpu.run_mem_mb or gpu.mem_used_mb
            if memory is not None:
                name = f"gpu{gpu.index} memory GiB"
                found.setdefault(name, Series(name)).append(minute, memory / 1024)
    return found


def metric_order(names: list[str]) -> list[str]:
    """The charts to show: the main metrics that have values, then the others by name."""
    main = [name for name in MAIN_METRICS if name in names]
    rest = sorted(
        name
        for name in names
        if name not in MAIN_METRICS and name not in HIDDEN_METRICS and not name.startswith(SUMMARY_PREFIX)
    )
    return main + rest


class RunPoller:
    """Polls one run folder. ``generation`` tells a result of this poller from one of a poller it replaced."""

    def __init__(self, run_dir: Path, generation: int) -> None:
        self.run_dir = run_dir
        self.generation = generation
        self.history = RunHistory(run_dir)
        self.last_event: dict | None = None
        self.stdout_shown: list[str] = []
        self.built: dict[str, tuple[int, tuple[int, int], float, bool]] = {}
        self.versions: dict[str, int] = {}
        self.first = True

    def _new_events(self) -> LogUpdate | None:
        """The events since the last poll (the history keeps the same event objects, so identity tells them)."""
        events = list(self.history.events)[-SHOWN_EVENTS:]
        last = self.last_event
        self.last_event = events[-1] if events else None
        if events and events[-1] is last:
            return None
        if last is not None:
            for index in range(len(events) - 1, -1, -1):
                if events[index] is last:
                    return LogUpdate([format_event(e) for e in events[index + 1 :]], replace=False)
        return LogUpdate([format_event(e) for e in events], replace=True)

    def _new_stdout(self) -> LogUpdate | None:
        """The lines of stdout.log since the last poll: where the shown tail reappears, what follows it."""
        lines = list(self.history.stdout)[-SHOWN_STDOUT:]
        shown, self.stdout_shown = self.stdout_shown, lines
        if lines == shown:
            return None
        for start in range(len(shown)):
            overlap = len(shown) - start
            if shown[start:] == lines[:overlap]:
                return LogUpdate(lines[overlap:], replace=False)
        return LogUpdate(lines, replace=True)

    def all_series(self) -> dict[str, Series]:
        series = {name: s for name, s in self.history.series.items() if len(s)}
        series.update(system_series(self.history.system))
        return series

    def poll(self, request: ChartRequest) -> PollResult:
        """Read the run's new lines, then rebuild each chart whose data, size or options changed."""
        changed = self.history.refresh(budget_s=READ_BUDGET_S) or self.first
        self.first = False
        series = self.all_series()
        names = metric_order(list(series))
        result = PollResult(self.generation, self.history.info, self.history.progress, names)
        result.complete = self.history.complete
        if changed:
            result.events = self._new_events()
            result.stdout = self._new_stdout()
            result.checkpoints = list(self.history.checkpoints)
            result.system_summary = self.history.system_summary
            result.latest_system = self.history.system[-1] if self.history.system else None
        new = [name for name in names if name not in request.sizes and name not in self.versions]
        sizes = dict(request.sizes)
        if request.new_size is not None:
            sizes.update((name, request.new_size) for name in new[: request.new_count])
        for name in names:
            size = sizes.get(name)
            if size is None:
                continue
            key = (len(series[name]), size, request.smoothing, request.log_y, result.complete)
            if not request.force and self.built.get(name) == key and name in self.versions:
                continue
            spec = ChartSpec(
                title=name if result.complete else f"{name} · loading",
                lines=(ChartLine(name, series[name].steps, series[name].values),),
                palette=request.palette,
                log_y=request.log_y,
                smoothing=request.smoothing,
                x_label="minutes" if name.startswith("gpu") else "step",
            )
            result.charts[name] = (build_chart(spec, *size), size, False)
            self.built[name] = key
            self.versions[name] = self.versions.get(name, 0) + 1
        return result


def poll_safely(poller: RunPoller, request: ChartRequest) -> PollResult:
    """:meth:`RunPoller.poll`, turning a folder that vanished or cannot be read into a result with the error."""
    try:
        return poller.poll(request)
    except (OSError, LookupError, ValueError) as exc:
        return PollResult(poller.generation, None, None, [], error=f"{poller.run_dir}: {exc}")


def elapsed_text(seconds: float | None) -> str:
    """``1:02:03`` for a number of seconds, ``-`` when unknown."""
    if seconds is None:
        return "-"
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
