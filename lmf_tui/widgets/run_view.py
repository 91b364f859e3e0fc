"""A run, live or finished: its progress line, a grid of charts, events, stdout, checkpoints, config and system.

The view polls its run folder twice a second in a thread worker (:mod:`lmf_tui.run_poll`): only the new bytes of the
run's files are read, and only charts whose data, size or options changed are rebuilt, off the UI thread. Nothing
here takes the focus; the logs follow their tail unless the user scrolled up.
"""

import time
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Log, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from lmf_engine.monitor.summary import SystemSummary
from lmf_engine.runs.progress import Progress
from lmf_engine.runs.record import CONFIG_FILE
from lmf_engine.runs.store import RunInfo

from ..charts import SMOOTHING_STEPS, warm_up_charts
from ..run_poll import ChartRequest, LogUpdate, PollResult, RunPoller, elapsed_text, poll_safely
from .gpu_panel import GpuPanel
from .metric_chart import MetricChart, palette_from_theme

POLL_S = 0.5
GRID_GUTTER = 1
CHART_ROWS = 12
CHARTS_S = 1.0
"""Charts are rebuilt at most this often (progress, events and stdout follow every poll)."""
STATE_STYLES = {
    "running": "$success",
    "queued": "$accent",
    "stopping": "$warning",
    "finished": "$primary",
    "stopped": "$warning",
    "failed": "$error",
    "lost": "$error",
}


def state_name(info: RunInfo) -> str:
    """The state a person reads: ``lost`` for a run whose process vanished."""
    return "lost" if info.lost else info.state


def _number(value: float | None, spec: str) -> str | None:
    return None if value is None else format(value, spec)


def status_content(info: RunInfo | None, progress: Progress | None) -> Content:
    """``● running · step 120/500 (24%) · epoch 0.48 · 0:01:02 elapsed · ETA 0:03:10 · 812 tok/s · 12.5 samples/s``."""
    if info is None:
        return Content.styled("No run: start one (ctrl+r), or pick one (ctrl+o).", "$text-muted")
    state = state_name(info)
    parts: list[Content | str] = [Content.styled(f"● {state}", STATE_STYLES.get(state, "$foreground")), info.name]
    if progress is not None and progress.step is not None:
        step = f"step {progress.step}" + (f"/{progress.total}" if progress.total else "")
        if progress.percentage is not None:
            step += f" ({progress.percentage:.0f}%)"
        parts.append(step)
        for text in (
            f"epoch {_number(progress.epoch, '.2f')}" if progress.epoch is not None else None,
            f"{elapsed_text(progress.elapsed_s)} elapsed" if progress.elapsed_s is not None else None,
            f"ETA {elapsed_text(progress.eta_s)}" if progress.eta_s is not None and info.active else None,
            f"{_number(progress.tokens_per_s, ',.0f')} tok/s" if progress.tokens_per_s is not None else None,
            f"{_number(progress.samples_per_s, ',.2f')} samples/s" if progress.samples_per_s is not None else None,
        ):
            if text:
                parts.append(text)
    elif info.active:
        parts.append("starting…")
    return Content(" · ").join(Content(p) if isinstance(p, str) else p for p in parts)


def summary_text(summary: SystemSummary | None) -> str:
    """The run's system summary: peak GPU memory and mean utilisation per device, host RAM and CPU."""
    if summary is None or not summary.samples:
        return "No system samples recorded for this run (system.jsonl)."
    lines = [f"{summary.samples} samples over {elapsed_text((summary.last_t or 0) - (summary.first_t or 0))}"]
    for device in summary.devices:
        own = f" (run {device.peak_run_mem_mb / 1024:.1f} GiB)" if device.peak_run_mem_mb else ""
        peak = f"{device.peak_mem_mb / 1024:.1f} GiB" if device.peak_mem_mb is not None else "-"
        util = f"{device.mean_util:.0f}%" if device.mean_util is not None else "-"
        lines.append(f"gpu{device.index} {device.name}: peak memory {peak}{own}, mean utilisation {util}")
    if summary.gpu_error and not summary.devices:
        lines.append(f"GPUs: {summary.gpu_error}")
    if summary.peak_ram_mb is not None:
        lines.append(f"host: peak RAM {summary.peak_ram_mb / 1024:.1f} GiB")
    if summary.mean_cpu_percent is not None:
        lines.append(f"host: mean CPU {summary.mean_cpu_percent:.0f}%")
    return "\n".join(lines)


class RunView(Vertical):
    """Shows the run in ``run_dir`` (set with :meth:`follow`) and keeps it current while it is mounted."""

    DEFAULT_CSS = """
    RunView { height: 1fr; }
    RunView #run-status { height: 1; padding: 0 1; background: $panel; }
    RunView #run-error { display: none; height: auto; max-height: 12; color: $error; padding: 0 1;
        border: round $error; }
    RunView.-failed #run-error { display: block; }
    RunView #charts { height: 2fr; min-height: 10; scrollbar-gutter: stable; }
    RunView #chart-grid { grid-size: 3; grid-gutter: 0 1; height: auto; grid-rows: 12; }
    RunView #run-bottom { height: 1fr; min-height: 8; }
    RunView #run-bottom TabbedContent { width: 1fr; }
    RunView GpuPanel { width: 52; }
    RunView Log { background: $surface; }
    """

    class Updated(Message):
        """The view read new lines of its run (the screen refreshes what depends on the run's state)."""

        def __init__(self, view: "RunView", info: RunInfo | None) -> None:
            super().__init__()
            self.view = view
            self.info = info

    def __init__(self, side: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.side = side
        self.run_dir: Path | None = None
        self.info: RunInfo | None = None
        self.poller: RunPoller | None = None
        self.generation = 0
        self.polling = False
        self.smoothing = 0.0
        self.log_y = False
        self.options_changed = False
        self.charts_at = 0.0

    def compose(self) -> ComposeResult:
        yield Static(status_content(None, None), id="run-status")
        yield Static("", id="run-error", markup=False)
        with VerticalScroll(id="charts"):
            yield Grid(id="chart-grid")
        with Horizontal(id="run-bottom"):
            with TabbedContent(initial="tab-events"):
                with TabPane("Events", id="tab-events"):
                    yield Log(id="run-events", max_lines=2000)
                with TabPane("Stdout", id="tab-stdout"):
                    yield Log(id="run-stdout", max_lines=2000)
                with TabPane("Checkpoints", id="tab-checkpoints"), VerticalScroll():
                    yield Static("", id="run-checkpoints", markup=False)
                with TabPane("Config", id="tab-config"), VerticalScroll():
                    yield Static("", id="run-config", markup=False)
                with TabPane("System", id="tab-system"), VerticalScroll():
                    yield Static("", id="run-system", markup=False)
            if self.side is not None:
                yield self.side

    def on_mount(self) -> None:
        self.run_worker(warm_up_charts, thread=True, description="Loading the chart library")
        self.set_interval(POLL_S, self.poll)
        self.query_one("#chart-grid", Grid).can_focus = False

    def follow(self, run_dir: Path | None) -> None:
        """Show the run in ``run_dir`` from its first step (None: no run)."""
        self.generation += 1
        self.run_dir = run_dir
        self.info = None
        self.poller = RunPoller(run_dir, self.generation) if run_dir is not None else None
        self.query_one("#chart-grid", Grid).remove_children()
        for log_id in ("#run-events", "#run-stdout"):
            self.query_one(log_id, Log).clear()
        self.query_one("#run-status", Static).update(status_content(None, None))
        self.query_one("#run-error", Static).update("")
        self.remove_class("-failed")
        config = run_dir / CONFIG_FILE if run_dir is not None else None
        text = config.read_text(encoding="utf-8", errors="replace") if config and config.is_file() else ""
        self.query_one("#run-config", Static).update(text or "No config.yaml in this run folder.")
        self.call_after_refresh(self.poll)

    def cycle_smoothing(self) -> float:
        """Next smoothing weight (0 = raw curves); returns it."""
        index = SMOOTHING_STEPS.index(self.smoothing) if self.smoothing in SMOOTHING_STEPS else 0
        self.smoothing = SMOOTHING_STEPS[(index + 1) % len(SMOOTHING_STEPS)]
        self.options_changed = True
        self.poll()
        return self.smoothing

    def toggle_log(self) -> bool:
        """Switch the charts' y axes between linear and log; returns True for log."""
        self.log_y = not self.log_y
        self.options_changed = True
        self.poll()
        return self.log_y

    def _chart_sizes(self) -> dict[str, tuple[int, int]]:
        """The sizes of the charts in view: charts scrolled out of view are built when they come into view."""
        area = self.query_one("#charts").region
        return {
            chart.metric: chart.built_size
            if chart.built_size and not chart.stale
            else (chart.size.width, chart.size.height)
            for chart in self.query(MetricChart)
            if chart.size.width > 0 and chart.size.height > 0 and chart.region.overlaps(area)
        }

    def _new_chart_room(self) -> tuple[tuple[int, int] | None, int]:
        """The size a chart mounted now will get (the narrowest column of the grid) and how many fit in view."""
        grid = self.query_one("#chart-grid", Grid)
        columns = grid.styles.grid_size_columns or 1
        if grid.query(MetricChart) or grid.size.width < columns:
            return None, 0
        width = (grid.size.width - GRID_GUTTER * (columns - 1)) // columns
        rows = max(1, -(-self.query_one("#charts").size.height // CHART_ROWS))
        return (width, CHART_ROWS), rows * columns

    def poll(self) -> None:
        """Start a poll of the run in a worker thread, unless one is still running."""
        if self.poller is None or self.polling:
            return
        self.polling = True
        sizes = self._chart_sizes()
        waiting = any(c.built_size is None or c.stale for c in self.query(MetricChart) if c.metric in sizes)
        if not (self.options_changed or waiting or time.monotonic() - self.charts_at >= CHARTS_S):
            sizes = {}
        if sizes:
            self.charts_at = time.monotonic()
        new_size, new_count = self._new_chart_room()
        request = ChartRequest(
            sizes=sizes,
            new_size=new_size,
            new_count=new_count,
            smoothing=self.smoothing,
            log_y=self.log_y,
            palette=palette_from_theme(self.app.theme_variables),
            force=self.options_changed,
        )
        self.options_changed = False
        poller = self.poller
        self.run_worker(
            lambda: self.post_message(RunPolled(poll_safely(poller, request))),
            thread=True,
            group="run-poll",
            description=f"Reading run {poller.run_dir.name}",
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "run-poll" and event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            self.polling = False

    def on_run_polled(self, message: "RunPolled") -> None:
        message.stop()
        self.polling = False
        result = message.result
        if result.generation != self.generation:
            self.poll()
            return
        self._show(result)
        if not result.complete:
            self.call_after_refresh(self.poll)

    def _show(self, result: PollResult) -> None:
        if result.error is not None:
            self.query_one("#run-status", Static).update(Content.styled(result.error, "$error"))
            return
        self.info = result.info
        self.query_one("#run-status", Static).update(status_content(result.info, result.progress))
        self._show_failure(result)
        grid = self.query_one("#chart-grid", Grid)
        present = {chart.metric for chart in grid.query(MetricChart)}
        missing = [MetricChart(name) for name in result.metrics if name not in present]
        for chart in missing:
            if chart.metric in result.charts:
                chart.show(*result.charts[chart.metric])
        if missing:
            grid.mount_all(missing)
        if any(chart.built_size is None for chart in missing):
            self.call_after_refresh(self.poll)
        charts = {chart.metric: chart for chart in grid.query(MetricChart)}
        for name, (text, size, empty) in result.charts.items():
            if name in charts and name in present:
                charts[name].show(text, size, empty)
        if result.events is not None:
            self._write_log("#run-events", result.events)
        if result.stdout is not None:
            self._write_log("#run-stdout", result.stdout)
        if result.system_summary is not None:
            self.query_one("#run-system", Static).update(summary_text(result.system_summary))
        if result.checkpoints or result.events is not None:
            text = "\n".join(result.checkpoints) if result.checkpoints else "No checkpoint saved yet."
            self.query_one("#run-checkpoints", Static).update(text)
        info = result.info
        if isinstance(self.side, GpuPanel) and info is not None and info.record is not None:
            self.side.watch_run(info.record.pgid if info.active else None, info.record.pid if info.active else None)
        self.post_message(self.Updated(self, result.info))

    def _show_failure(self, result: PollResult) -> None:
        info = result.info
        failed = info is not None and info.state == "failed"
        self.set_class(failed, "-failed")
        if failed and info is not None and info.record is not None:
            tail = "\n".join(list(self.poller.history.stdout)[-8:]) if self.poller is not None else ""
            error = info.record.error or "the run failed without a message"
            text = (
                error if "last lines of" in error or not tail else f"{error}\n--- last lines of stdout.log ---\n{tail}"
            )
            self.query_one("#run-error", Static).update(text)

    def _write_log(self, selector: str, update: LogUpdate) -> None:
        """Add the new lines (or show others instead), following the tail unless the user scrolled up."""
        log = self.query_one(selector, Log)
        at_end = log.is_vertical_scroll_end or log.max_scroll_y == 0
        if update.replace:
            offset = log.scroll_y
            log.clear()
            log.write_lines(update.lines, scroll_end=at_end)
            if not at_end:
                log.scroll_to(y=offset, animate=False)
        elif update.lines:
            log.write_lines(update.lines, scroll_end=at_end)


class RunPolled(Message):
    """A poll's result, posted from the worker thread."""

    def __init__(self, result: PollResult) -> None:
        super().__init__()
        self.result = result
