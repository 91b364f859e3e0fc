"""The data of a comparison, read in a worker thread: each run's history, the metrics they share, one overlay chart,
and the config keys in which the runs differ."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.text import Text

from lmf_engine.runs.compare import aligned, config_differences
from lmf_engine.runs.history import RunHistory

from .charts import ChartLine, ChartSpec, Palette, build_chart
from .run_poll import metric_order

Axis = Literal["step", "tokens"]


@dataclass(frozen=True)
class CompareRequest:
    """The chart wanted: metric, x axis, options, colours and size."""

    metric: str | None
    axis: Axis
    smoothing: float
    log_y: bool
    palette: Palette
    size: tuple[int, int]


@dataclass
class CompareResult:
    """The metrics of all runs, the chart of the chosen one, runs left out of it and why, the config differences."""

    metrics: list[str]
    metric: str | None
    chart: Text | None
    names: list[str]
    states: dict[str, str] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)
    figures: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    """Per run: the last and the lowest value of the metric."""
    differences: list[tuple[str, list[Any]]] | None = None


def run_labels(run_dirs: list[Path]) -> list[str]:
    """Names to tell the runs apart: the folder name, with its parent's where two runs share a name."""
    names = [path.name for path in run_dirs]
    return [f"{path.parent.name}/{path.name}" if names.count(path.name) > 1 else path.name for path in run_dirs]


class ComparePoller:
    """Reads the runs being compared; used by one worker thread at a time."""

    def __init__(self, run_dirs: list[Path]) -> None:
        self.run_dirs = run_dirs
        self.names = run_labels(run_dirs)
        self.histories = [RunHistory(path) for path in run_dirs]
        self.differences: list[tuple[str, list[Any]]] | None = None

    def poll(self, request: CompareRequest) -> CompareResult:
        for history in self.histories:
            history.refresh()
        if self.differences is None:
            self.differences = config_differences(self.run_dirs)
        shared: set[str] = set()
        for history in self.histories:
            shared |= {name for name, series in history.series.items() if len(series)}
        metrics = metric_order(sorted(shared))
        metric = request.metric if request.metric in metrics else (metrics[0] if metrics else None)
        result = CompareResult(metrics, metric, None, self.names, differences=self.differences)
        result.states = {
            name: ("lost" if h.info.lost else h.info.state) for name, h in zip(self.names, self.histories, strict=True)
        }
        if metric is None:
            return result
        series = {
            name: h.series[metric] for name, h in zip(self.names, self.histories, strict=True) if metric in h.series
        }
        tokens = {name: h.tokens for name, h in zip(self.names, self.histories, strict=True)}
        result.figures = {name: (s.last, s.best) for name, s in series.items()}
        points, result.left_out = aligned(series, tokens, request.axis)
        for name in self.names:
            if name not in series:
                result.left_out.setdefault(name, f"logs no {metric}")
        colors = request.palette.lines
        reasons = set(result.left_out.values())
        reason = f": every run {reasons.pop()}" if len(reasons) == 1 and not points else ""
        lines = tuple(
            ChartLine(name, xs, ys, colors[self.names.index(name) % len(colors)]) for name, (xs, ys) in points.items()
        )
        spec = ChartSpec(
            title=f"{metric} by {request.axis}",
            lines=lines,
            palette=request.palette,
            log_y=request.log_y,
            smoothing=request.smoothing,
            x_label=request.axis,
            legend=True,
            notes=(f"no run has {metric} by {request.axis}{reason}",),
        )
        result.chart = build_chart(spec, *request.size)
        return result
