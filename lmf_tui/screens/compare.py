"""Runs side by side: any metric of every marked run on one chart (by step or by tokens seen), and the config keys
in which the runs differ."""

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.color import Color
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker, WorkerState

from ..bindings import bindings_for
from ..charts import SMOOTHING_STEPS
from ..compare_poll import Axis, ComparePoller, CompareRequest, CompareResult
from ..palette import PaletteCommand
from ..widgets.metric_chart import MetricChart, palette_from_theme
from .base import WorkbenchScreen

POLL_S = 2.0
VALUE_WIDTH = 28


def _cell(value: object) -> Text:
    """A config value as a cell: plain text (never markup), cut to the column's width."""
    text = "(default)" if value is None else str(value)
    return Text(text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…")


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


class ComparePolled(Message):
    def __init__(self, result: CompareResult) -> None:
        super().__init__()
        self.result = result


class CompareScreen(WorkbenchScreen):
    """Pushed from the runs screen with the marked runs; Esc goes back."""

    BINDINGS: list[BindingType] = bindings_for("compare")
    DEFAULT_CSS = """
    CompareScreen #compare-side { width: 34; }
    CompareScreen #compare-metrics { height: 1fr; border: round $primary 50%; }
    CompareScreen #compare-metrics:focus { border: round $primary; }
    CompareScreen #compare-legend { height: auto; max-height: 14; border: round $secondary; padding: 0 1; }
    CompareScreen #compare-chart { height: 2fr; min-height: 12; }
    CompareScreen #compare-diff { height: 1fr; border: round $secondary; }
    """

    def __init__(self, run_dirs: list[Path]) -> None:
        super().__init__()
        self.poller = ComparePoller(run_dirs)
        self.metric: str | None = None
        self.axis: Axis = "step"
        self.smoothing = 0.0
        self.log_y = False
        self.polling = False
        self.metrics: list[str] = []
        self.diff_shown = False
        self.pending = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="compare-side"):
                yield OptionList(id="compare-metrics")
                yield Static("", id="compare-legend")
            with Vertical():
                yield MetricChart("compare", id="compare-chart")
                yield DataTable(id="compare-diff", cursor_type="row", zebra_stripes=True)
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#compare-metrics", OptionList).border_title = "Metric (m)"
        self.query_one("#compare-legend", Static).border_title = "Runs"
        self.query_one("#compare-diff", DataTable).border_title = "Config keys that differ"
        self.set_interval(POLL_S, self.poll)
        self.call_after_refresh(self.poll)

    def poll(self) -> None:
        chart = self.query_one(MetricChart)
        if self.polling or chart.size.width == 0:
            self.pending = True
            return
        self.pending = False
        self.polling = True
        request = CompareRequest(
            metric=self.metric,
            axis=self.axis,
            smoothing=self.smoothing,
            log_y=self.log_y,
            palette=palette_from_theme(self.app.theme_variables),
            size=(chart.size.width, chart.size.height),
        )
        poller = self.poller
        self.run_worker(
            lambda: self.post_message(ComparePolled(poller.poll(request))),
            thread=True,
            group="compare-poll",
            description="Reading the compared runs",
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        super().on_worker_state_changed(event)
        if event.worker.group == "compare-poll" and event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            self.polling = False

    def on_compare_polled(self, message: ComparePolled) -> None:
        self.polling = False
        result = message.result
        if self.pending:
            self.call_after_refresh(self.poll)
        self.metric = result.metric
        if result.metrics != self.metrics:
            self.metrics = result.metrics
            options = self.query_one("#compare-metrics", OptionList)
            options.clear_options()
            options.add_options([Option(Content(name), id=name) for name in result.metrics])
            if result.metric in result.metrics:
                options.highlighted = result.metrics.index(result.metric)
        chart = self.query_one(MetricChart)
        if result.chart is not None:
            chart.show(result.chart, (chart.size.width, chart.size.height))
        self._show_legend(result)
        if result.differences is not None and not self.diff_shown:
            self._show_differences(result)

    def _show_legend(self, result: CompareResult) -> None:
        colors = palette_from_theme(self.app.theme_variables).lines
        lines = []
        for index, name in enumerate(result.names):
            rgb = colors[index % len(colors)]
            swatch = Content.styled("━━ ", Color(*rgb).hex)
            state = result.states.get(name, "")
            line = Content.assemble(swatch, name, "  ", Content.styled(state, "$text-muted"))
            last, best = result.figures.get(name, (None, None))
            if last is not None:
                figures = f"\n   last {_figure(last)}  best {_figure(best)}"
                line = Content.assemble(line, Content.styled(figures, "$text-muted"))
            if name in result.left_out:
                line = Content.assemble(line, Content.styled(f"\n   not shown: {result.left_out[name]}", "$warning"))
            lines.append(line)
        self.query_one("#compare-legend", Static).update(Content("\n").join(lines))

    def _show_differences(self, result: CompareResult) -> None:
        self.diff_shown = True
        table = self.query_one("#compare-diff", DataTable)
        table.clear(columns=True)
        rows = [(Text(key), *map(_cell, values)) for key, values in result.differences or []]
        if not rows:
            rows = [(Text("(none: the configs are the same)"), *[Text("") for _ in result.names])]
        labels = [Text("key"), *map(Text, result.names)]
        keys = ["key", *[f"run-{index}" for index in range(len(result.names))]]
        for column, (label, key) in enumerate(zip(labels, keys, strict=True)):
            width = max(label.cell_len, *(row[column].cell_len for row in rows))  # fixed: no re-measuring race
            table.add_column(label, key=key, width=width)
        for row, (key, _) in zip(rows, result.differences or [(None, None)], strict=True):
            table.add_row(*row, key=key)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None and event.option.id != self.metric:
            self.metric = event.option.id
            self.poll()

    def action_back(self) -> None:
        self.dismiss()

    def action_next_metric(self) -> None:
        if not self.metrics:
            return
        index = self.metrics.index(self.metric) if self.metric in self.metrics else -1
        self.metric = self.metrics[(index + 1) % len(self.metrics)]
        self.query_one("#compare-metrics", OptionList).highlighted = self.metrics.index(self.metric)
        self.poll()

    def action_toggle_axis(self) -> None:
        self.axis = "tokens" if self.axis == "step" else "step"
        self.notify(f"x axis: {self.axis}", timeout=2)
        self.poll()

    def action_smooth(self) -> None:
        index = SMOOTHING_STEPS.index(self.smoothing) if self.smoothing in SMOOTHING_STEPS else 0
        self.smoothing = SMOOTHING_STEPS[(index + 1) % len(SMOOTHING_STEPS)]
        self.notify(f"smoothing {self.smoothing:g}", timeout=2)
        self.poll()

    def action_log_scale(self) -> None:
        self.log_y = not self.log_y
        self.notify("log scale" if self.log_y else "linear scale", timeout=2)
        self.poll()

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            PaletteCommand("Compare: next metric", "Overlay another metric", self.action_next_metric),
            PaletteCommand("Compare: by step / by tokens", "Change the x axis", self.action_toggle_axis),
            PaletteCommand("Compare: smoothing", "Cycle the smoothing weight", self.action_smooth),
            PaletteCommand("Compare: log scale", "Toggle the y axis scale", self.action_log_scale),
            PaletteCommand("Compare: back", "Back to the runs", self.action_back),
        ]
