"""The template traps found in the rendered sample, in plain words, errors first."""

from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from lmf_engine.data.traps import Trap

SEVERITY_STYLES = {"error": "bold $error", "warning": "bold $warning", "info": "bold $text-muted"}


def traps_content(traps: list[Trap]) -> Content:
    problems = [t for t in traps if t.severity != "info"]
    if not problems:
        head = Content.styled("No traps found in this sample.", "bold $success")
    else:
        head = Content.styled(f"{len(problems)} trap(s) found.", "bold $warning")
    parts = [head]
    for trap in traps:
        parts.append(Content.assemble((f"{trap.severity}: ", SEVERITY_STYLES[trap.severity]), (trap.code, "italic")))
        parts.append(Content(trap.message))
    return Content("\n\n").join(parts)


class TrapReport(VerticalScroll):
    """Double BOS, missing EOS, pad == eos, jinja mismatch, empty think blocks and the rest."""

    DEFAULT_CSS = """
    TrapReport { width: 52; border: round $secondary; padding: 0 1; }
    TrapReport:focus { border: round $primary; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_title = "Traps"

    def compose(self) -> ComposeResult:
        yield Static("", id="trap-text")

    def show(self, traps: list[Trap]) -> None:
        self.query_one("#trap-text", Static).update(traps_content(traps))

    def show_message(self, text: str) -> None:
        self.query_one("#trap-text", Static).update(Content(text))
