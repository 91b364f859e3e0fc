"""Token-length statistics of a dataset: progress while computing, then a histogram and percentiles."""

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import ProgressBar, Static

from lmf_engine.data.stats import LengthStats

BAR_WIDTH = 22


def stats_content(stats: LengthStats, skipped: int) -> Content:
    """Percentiles, the truncated share and a text histogram, in theme colours."""
    lines: list[Content] = []
    state = "" if stats.complete else "  (cancelled: partial)"
    summary = f"  min {stats.min}  mean {stats.mean:.0f}  max {stats.max}"
    lines.append(Content.assemble((f"{stats.count} rows", "bold"), summary, state))
    lines.append(Content("  ".join(f"p{p} {v}" for p, v in stats.percentiles.items())))
    if stats.cutoff_len is not None:
        share = f"{stats.truncated} ({stats.truncated_share:.1%}) longer than cutoff_len {stats.cutoff_len}"
        lines.append(Content.styled(share, "$warning" if stats.truncated else "$success"))
    if skipped:
        lines.append(Content.styled(f"{skipped} rows skipped: they cannot be converted", "$error"))
    peak = max((count for _, _, count in stats.bins), default=0)
    for low, high, count in stats.bins:
        width = round(BAR_WIDTH * count / peak) if peak else 0
        over = stats.cutoff_len is not None and high > stats.cutoff_len
        bar = Content.styled("█" * width or "▏", "$warning" if over else "$primary")
        lines.append(Content.assemble(f"{low:>6}-{high - 1:<6} ", bar, f" {count}"))
    return Content("\n").join(lines)


class LengthPanel(Vertical):
    """Shows how far the background computation is, then its result."""

    DEFAULT_CSS = """
    LengthPanel { height: auto; max-height: 60%; overflow-y: auto; border: round $secondary; padding: 0 1; }
    LengthPanel ProgressBar { display: none; }
    LengthPanel.-running ProgressBar { display: block; }
    LengthPanel #length-info { color: $text-muted; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_title = "Token lengths"

    def compose(self) -> ComposeResult:
        yield Static("Press s to measure the selected dataset.", id="length-info", markup=False)
        yield ProgressBar(show_eta=False, id="length-progress")
        yield Static("", id="length-result")

    def start(self, what: str, total: int | None) -> None:
        self.add_class("-running")
        self.query_one("#length-info", Static).update(what)
        self.query_one(ProgressBar).update(total=total, progress=0)
        self.query_one("#length-result", Static).update("")

    def advance(self, done: int, total: int | None) -> None:
        self.query_one(ProgressBar).update(total=total, progress=done)

    def finish(self, what: str, stats: LengthStats, skipped: int) -> None:
        self.remove_class("-running")
        self.query_one("#length-info", Static).update(what)
        self.query_one("#length-result", Static).update(stats_content(stats, skipped))

    def stop(self, message: str) -> None:
        self.remove_class("-running")
        self.query_one("#length-info", Static).update(message)
