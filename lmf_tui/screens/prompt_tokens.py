"""What the model saw: the last prompt exactly as token ids went in, in the template screen's token view."""

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from lmf_engine.data.inspect import SequenceView, media_runs

from ..widgets.token_text import TokenBlock, TokenText

HINT = "special tokens in their colour, every other token shaded · i: token ids · Esc: close"


class PromptTokensScreen(ModalScreen[None]):
    """The prompt of one side, token by token; ``i`` shows the ids."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Close", id="prompt_tokens.close"),
        Binding("i", "toggle_ids", "Ids", id="prompt_tokens.ids"),
    ]
    DEFAULT_CSS = """
    PromptTokensScreen { align: center middle; }
    PromptTokensScreen > Vertical {
        width: 95%; height: 90%; border: thick $primary; background: $surface; padding: 0 1;
    }
    PromptTokensScreen .title { text-style: bold; color: $primary; }
    PromptTokensScreen .hint { color: $text-muted; }
    PromptTokensScreen VerticalScroll { height: 1fr; }
    """

    def __init__(self, title: str, sequence: SequenceView) -> None:
        super().__init__()
        self.title_text = title
        self.sequence = sequence
        self.show_ids = False

    def compose(self) -> ComposeResult:
        counts = self.sequence.counts()
        with Vertical():
            yield Static(
                Content(f"{self.title_text}: {counts['tokens']} tokens, {counts['special']} special"), classes="title"
            )
            yield Static(Content(HINT), classes="hint")
            with VerticalScroll():
                yield TokenText(id="prompt-tokens")

    def on_mount(self) -> None:
        self.query_one(TokenText).show_blocks([self.block], self.show_ids)

    @property
    def block(self) -> TokenBlock:
        """The prompt, long runs of one special token folded (a click unfolds one)."""
        return TokenBlock(None, self.sequence, tuple(media_runs(self.sequence.tokens)))

    def action_toggle_ids(self) -> None:
        self.show_ids = not self.show_ids
        self.query_one(TokenText).show_blocks([self.block], self.show_ids, keep_folds=True)
