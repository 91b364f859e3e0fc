"""A chart whose text is built elsewhere (a worker thread, see :mod:`lmf_tui.charts`): it shows the last one."""

from typing import Any

from rich.text import Text
from textual.app import RenderResult
from textual.color import Color
from textual.widget import Widget

from ..charts import Palette

LINE_VARIABLES = ("primary", "accent", "success", "error", "warning", "secondary")


def palette_from_theme(variables: dict[str, str]) -> Palette:
    """Chart colours from the theme's variables: its surface and foreground, then one colour per curve."""

    def rgb(name: str, fallback: str) -> tuple[int, int, int]:
        return Color.parse(variables.get(name, fallback)).rgb

    lines = tuple(rgb(name, "#888888") for name in LINE_VARIABLES)
    return Palette(background=rgb("surface", "#000000"), foreground=rgb("foreground", "#ffffff"), lines=lines)


class MetricChart(Widget):
    """One metric's chart. ``metric`` names what it shows; :meth:`show` puts in a newly built chart."""

    DEFAULT_CSS = """
    MetricChart { height: 1fr; min-height: 8; background: $surface; }
    MetricChart.-empty { color: $text-muted; }
    """

    def __init__(self, metric: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metric = metric
        self.text: Text = Text(f"{metric}\n…")
        self.built_size: tuple[int, int] | None = None
        self.add_class("-empty")

    def show(self, text: Text, size: tuple[int, int], empty: bool = False) -> None:
        """Show a chart built for ``size`` (width, height)."""
        self.text = text
        self.built_size = size
        self.set_class(empty, "-empty")
        self.refresh()

    @property
    def stale(self) -> bool:
        """True when the chart was built for another size (a chart built ahead for its slot is shown at once, and
        rebuilt for its exact size at the next poll when the slot turned out a column wider)."""
        return self.built_size != (self.size.width, self.size.height)

    def render(self) -> RenderResult:
        return self.text
