"""The error panel: what failed and why, over the screen that started the work. The app keeps running."""

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ErrorPanel(ModalScreen[None]):
    """A failure of a background task: the task, the message, and the traceback for unexpected errors."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter", "dismiss", "Close", id="error.close")]
    DEFAULT_CSS = """
    ErrorPanel { align: center middle; }
    ErrorPanel > Vertical {
        width: 90%; max-width: 110; height: auto; max-height: 80%;
        border: thick $error; background: $surface; padding: 0 1;
    }
    ErrorPanel .title { color: $error; text-style: bold; }
    ErrorPanel .message { color: $foreground; margin: 1 0; }
    ErrorPanel VerticalScroll { height: auto; max-height: 16; }
    ErrorPanel .details { color: $text-muted; }
    ErrorPanel Button { margin-top: 1; }
    """

    def __init__(self, task: str, message: str, details: str | None = None) -> None:
        super().__init__()
        self.task_name = task
        self.message = message
        self.details = details

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"{self.task_name} failed", classes="title", markup=False)
            yield Static(self.message, classes="message", markup=False, id="error-message")
            if self.details:
                with VerticalScroll():
                    yield Static(self.details, classes="details", markup=False)
            yield Button("Close", variant="error", id="close")

    def on_button_pressed(self, _: Button.Pressed) -> None:
        self.dismiss()
