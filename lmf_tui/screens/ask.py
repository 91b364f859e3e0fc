"""A small dialog that asks for one line of text (a row number, a file path), with optional choices below it."""

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option


class AskScreen(ModalScreen[str | None]):
    """Returns the text entered (or the choice picked), or None on Esc."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="ask.cancel")]
    DEFAULT_CSS = """
    AskScreen { align: center middle; }
    AskScreen > Vertical {
        width: 80; max-width: 95%; height: auto; max-height: 80%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    AskScreen .title { text-style: bold; color: $primary; }
    AskScreen .hint { color: $text-muted; }
    AskScreen OptionList { height: auto; max-height: 16; margin-top: 1; }
    """

    def __init__(
        self, title: str, placeholder: str = "", value: str = "", choices: list[tuple[str, str]] | None = None
    ) -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.value = value
        self.choices = choices or []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="title", markup=False)
            yield Input(value=self.value, placeholder=self.placeholder, id="ask-input")
            if self.choices:
                yield Static("or pick one (Tab, then Enter):", classes="hint")
                options = [Option(Content(label), id=value) for label, value in self.choices]  # paths: never markup
                yield OptionList(*options, id="ask-choices")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
