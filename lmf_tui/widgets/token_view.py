"""The Template screen's token pane: the legend, then every sequence of a rendered sample under its heading, media
runs folded (see :mod:`lmf_tui.widgets.token_text`)."""

from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from lmf_engine.data.inspect import RenderedSample

from ..token_content import LEGEND, sequence_heading
from .token_text import TokenBlock, TokenText


class TokenPane(VerticalScroll):
    """The token view of every sequence of a sample (chosen and rejected for pairwise stages)."""

    DEFAULT_CSS = """
    TokenPane { height: 1fr; border: round $primary 50%; padding: 0 1; background: $surface; }
    TokenPane:focus { border: round $primary; }
    TokenPane .legend { margin-bottom: 1; }
    TokenPane .heading { color: $secondary; text-style: bold; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_title = "Tokens"

    def compose(self) -> ComposeResult:
        yield Static(LEGEND, classes="legend")
        yield TokenText(id="token-text")

    @property
    def text(self) -> TokenText:
        return self.query_one(TokenText)

    def show(
        self,
        rendered: RenderedSample,
        show_ids: bool,
        flagged: dict[str, set[int]],
        fold_hint: str = "",
        keep_folds: bool = False,
    ) -> None:
        """Every sequence of ``rendered`` under its heading; media runs folded unless ``keep_folds`` (the same
        sample drawn again: runs the user unfolded stay unfolded). ``fold_hint`` follows a heading with runs."""
        blocks = []
        for seq in rendered.sequences:
            runs = rendered.runs(seq.name)
            heading = sequence_heading(seq, runs, fold_hint)
            blocks.append(TokenBlock(heading, seq, tuple(runs), frozenset(flagged.get(seq.name, set()))))
        self.text.show_blocks(blocks, show_ids, keep_folds)

    def show_message(self, text: str) -> None:
        self.text.show_message(text)
