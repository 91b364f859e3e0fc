"""One row in full: its canonical messages as the converters see them, or why it cannot be used, and its raw JSON."""

import json
from pathlib import Path
from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from lmf_engine.data.example import Example

from .media_panel import MediaPanel

RAW_LIMIT = 4000
SIDE_BY_SIDE = 64
"""From this width on, a row's media stand beside its messages (under them when narrower)."""


def example_content(example: Example) -> Content:
    """The canonical form: system, tools, the prompt turns and the response(s), one block per message."""
    parts: list[Content] = []

    def block(label: str, text: str, style: str) -> None:
        parts.append(Content.assemble((f"{label}\n", style), (text or "(empty)", "$foreground"), "\n\n"))

    if example.system:
        block("system", example.system, "bold $secondary")
    if example.tools:
        block("tools", example.tools, "bold $secondary")
    for message in example.prompt:
        block(message.role, message.content, "bold $primary")
    if len(example.response) == 2:
        block("chosen", example.chosen.content, "bold $success")
        block("rejected", example.rejected.content, "bold $error")
    else:
        for message in example.response:
            block(f"{message.role} (response)", message.content, "bold $success")
    if example.kto_tag is not None:
        label = "desirable" if example.kto_tag else "undesirable"
        parts.append(Content.assemble(("kto_tag: ", "bold $secondary"), (label, "$foreground"), "\n\n"))
    return Content("").join(parts)


class RowDetail(VerticalScroll):
    """The selected row: canonical messages (or the conversion error with file and row), its media (filled in by
    the screen's worker), then the raw row."""

    DEFAULT_CSS = """
    RowDetail { height: 45%; border: round $primary 50%; padding: 0 1; background: $surface; }
    RowDetail:focus { border: round $primary; }
    RowDetail #detail-top { height: auto; layout: vertical; }
    RowDetail.-side #detail-top { layout: horizontal; }
    RowDetail #detail-messages { margin-bottom: 1; }
    RowDetail.-side #detail-messages { width: 1fr; }
    RowDetail.-side MediaPanel { width: 1fr; margin-left: 2; }
    RowDetail #detail-raw { color: $text-muted; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_title = "Row"

    def compose(self) -> ComposeResult:
        with Horizontal(id="detail-top"):
            yield Static("", id="detail-messages")
            yield MediaPanel(id="detail-media")
        yield Static("", id="detail-raw", markup=False)

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width >= SIDE_BY_SIDE, "-side")

    def show(self, file: Path, index: int, row: dict, example: Example | None, reason: str | None) -> None:
        self.border_title = f"Row {index + 1}"
        messages = self.query_one("#detail-messages", Static)
        if reason is not None:
            problem = Content.assemble(
                ("cannot be used: ", "bold $error"), (f"{file}, row {index + 1}: {reason}", "$error"), "\n\n"
            )
            messages.update(problem + example_content(example) if example is not None else problem)
        else:
            messages.update(example_content(example) if example is not None else "")
        raw = json.dumps(row, ensure_ascii=False, indent=2, default=str)
        if len(raw) > RAW_LIMIT:
            raw = raw[:RAW_LIMIT] + f"\n… ({len(raw) - RAW_LIMIT} more characters)"
        self.query_one("#detail-raw", Static).update(raw)
        self.query_one(MediaPanel).clear()
        self.scroll_home(animate=False)

    def show_text(self, text: str) -> None:
        self.border_title = "Row"
        self.query_one("#detail-messages", Static).update(Content(text))
        self.query_one(MediaPanel).clear()
        self.query_one("#detail-raw", Static).update("")
