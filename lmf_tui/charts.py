"""Chart text built with plotext, off the UI thread.

Building a plotext chart costs tens of milliseconds, too much for the UI thread while a run logs many steps a second,
so :func:`build_chart` runs in a worker thread and the widget only shows the finished text. Series are down-sampled
to the chart's width first (min and max of each column), so a run with 100,000 steps costs what one with 1,000 does.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.text import Text

from lmf_engine.runs.downsample import minmax, smooth

RGB = tuple[int, int, int]
SMOOTHING_STEPS = (0.0, 0.6, 0.8, 0.9, 0.95, 0.99)
"""The smoothing weights the ``s`` key cycles through (TensorBoard's debiased EMA; 0 is the raw curve)."""


@dataclass(frozen=True)
class Palette:
    """The colours of a chart, taken from the app's theme variables (see :func:`palette_from_theme`)."""

    background: RGB
    foreground: RGB
    lines: tuple[RGB, ...]


@dataclass(frozen=True)
class ChartLine:
    """One curve: a label (a run's name in a comparison) and its points."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    color: RGB | None = None


@dataclass(frozen=True)
class ChartSpec:
    """What to draw: a title, curves and how. With ``smoothing`` the raw curve is drawn faint under the smooth one."""

    title: str
    lines: tuple[ChartLine, ...]
    palette: Palette
    log_y: bool = False
    smoothing: float = 0.0
    x_label: str = "step"
    legend: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)


def warm_up_charts() -> None:
    """Import plotext (a third of a second) ahead of the first chart; called from a worker thread."""
    import textual_plotext.plot  # noqa: F401


def _faint(color: RGB, background: RGB) -> RGB:
    return (
        (color[0] + 2 * background[0]) // 3,
        (color[1] + 2 * background[1]) // 3,
        (color[2] + 2 * background[2]) // 3,
    )


def _positive(xs: Sequence[float], ys: Sequence[float]) -> tuple[list[float], list[float]]:
    kept = [(x, y) for x, y in zip(xs, ys, strict=True) if y > 0 and math.isfinite(y)]
    return [x for x, _ in kept], [y for _, y in kept]


def _finite(xs: Sequence[float], ys: Sequence[float]) -> tuple[list[float], list[float]]:
    kept = [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(y)]
    return [x for x, _ in kept], [y for _, y in kept]


def build_chart(spec: ChartSpec, width: int, height: int) -> Text:
    """The chart as styled text of ``width`` x ``height`` cells. Thread-safe: each call uses its own figure."""
    width, height = max(width, 10), max(height, 4)
    drawn = [line for line in spec.lines if len(line.xs)]
    if not drawn:
        message = spec.notes[0] if spec.notes else "no values logged yet"
        return Text(f"{spec.title}\n{message}", no_wrap=True, overflow="ellipsis")
    from textual_plotext.plot import Plot

    plot = Plot()
    plot.plotsize(width, height)
    plot._set_size(width, height)
    plot.canvas_color(spec.palette.background)
    plot.axes_color(spec.palette.background)
    plot.ticks_color(spec.palette.foreground)
    columns = max(width - 8, 8)
    xs_all = [x for line in drawn for x in (line.xs[0], line.xs[-1])]
    x_range = (min(xs_all), max(xs_all))
    for index, line in enumerate(drawn):
        color = line.color or spec.palette.lines[index % len(spec.palette.lines)]
        values = smooth(line.ys, spec.smoothing) if spec.smoothing else list(line.ys)
        pick = _positive if spec.log_y else _finite
        if spec.smoothing and len(drawn) == 1:
            raw_x, raw_y = pick(*minmax(line.xs, line.ys, columns, x_range))
            if raw_x:
                plot.plot(raw_x, raw_y, marker="braille", color=_faint(color, spec.palette.background))
        xs, ys = pick(*minmax(line.xs, values, columns, x_range))
        if xs:
            plot.plot(xs, ys, marker="braille", color=color, label=line.label if spec.legend else None)
    if spec.log_y:
        plot.yscale("log")
    title = spec.title + (" (log)" if spec.log_y else "") + (f" · smooth {spec.smoothing:g}" if spec.smoothing else "")
    plot.title(title)
    return Text.from_ansi(plot.build(), no_wrap=True)
