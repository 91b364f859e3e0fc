"""A rendered sample, every token coloured as trained on, masked or special, with its id on demand."""

from collections.abc import Iterable
from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from lmf_engine.data.inspect import RenderedSample, SequenceView, TokenView

ROLE_STYLES = {"trained": "$token-trained", "masked": "$token-masked", "special": "$token-special"}
LEGEND = Content.assemble(
    ("trained", "bold $token-trained"),
    "  ",
    ("masked", "bold $token-masked"),
    "  ",
    ("special", "bold $token-special"),
    ("  (special and trained: underlined; a trap's tokens: reversed)", "$text-muted"),
)


def token_style(token: TokenView, odd: bool, flagged: bool) -> str:
    """A token's style: its role colour, every other token on a panel background so boundaries show."""
    style = ROLE_STYLES["special"] if token.special else ROLE_STYLES[token.role]
    if token.special and token.trained:
        style += " underline"
    if odd:
        style += " on $panel"
    if flagged:
        style += " reverse"
    return style


def sequence_content(seq: SequenceView, show_ids: bool, flagged: Iterable[int] = ()) -> Content:
    """One sequence: newlines shown as ``↵`` (and kept), ids after each token when ``show_ids``."""
    marks = set(flagged)
    parts: list[Content] = []
    for token in seq.tokens:
        text = token.text.replace("\n", "↵\n") if token.text else ("" if not show_ids else "·")
        parts.append(Content.styled(text, token_style(token, token.index % 2 == 1, token.index in marks)))
        if show_ids:
            parts.append(Content.styled(f"⟨{token.id}⟩", "$text-muted"))
    return Content("").join(parts)


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
        yield Static("", id="token-text")

    def show(self, rendered: RenderedSample, show_ids: bool, flagged: dict[str, set[int]]) -> None:
        blocks: list[Content] = []
        for seq in rendered.sequences:
            counts = seq.counts()
            cut = ", truncated at cutoff_len" if seq.truncated else ""
            head = (
                f"{seq.name}: {counts['tokens']} tokens, {counts['trained']} trained, "
                f"{counts['masked']} masked, {counts['special']} special{cut}"
            )
            blocks.append(Content.styled(head, "bold $secondary"))
            blocks.append(sequence_content(seq, show_ids, flagged.get(seq.name, set())))
        self.query_one("#token-text", Static).update(Content("\n\n").join(blocks))

    def show_message(self, text: str) -> None:
        self.query_one("#token-text", Static).update(Content(text))
