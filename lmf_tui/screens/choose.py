"""A dialog that asks the user to choose: resume / overwrite / rename, a checkpoint, or yes / no before something
that cannot be undone. Each choice has a key; Esc answers None."""

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class ChooseScreen(ModalScreen[str | None]):
    """``choices`` are (answer, label) pairs; a label's first letter in brackets, e.g. ``[r] Resume``, is its key."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="choose.cancel")]
    DEFAULT_CSS = """
    ChooseScreen { align: center middle; }
    ChooseScreen > Vertical {
        width: 84; max-width: 95%; height: auto; max-height: 80%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    ChooseScreen.-danger > Vertical { border: thick $error; }
    ChooseScreen .title { text-style: bold; color: $primary; }
    ChooseScreen.-danger .title { color: $error; }
    ChooseScreen .message { margin: 1 0; }
    ChooseScreen OptionList { height: auto; max-height: 16; }
    """

    def __init__(
        self, title: str, message: str, choices: list[tuple[str, str]], keys: dict[str, str] | None = None,
        danger: bool = False,
    ) -> None:  # fmt: skip
        super().__init__()
        self.title_text = title
        self.message = message
        self.choices = choices
        self.keys = keys or {}
        if danger:
            self.add_class("-danger")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="title", markup=False)
            if self.message:
                yield Static(self.message, classes="message", markup=False)
            yield OptionList(*[Option(Content(label), id=answer) for answer, label in self.choices], id="choices")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_key(self, event: Key) -> None:
        if event.character and event.character in self.keys:
            event.stop()
            self.dismiss(self.keys[event.character])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


def confirm(title: str, message: str, yes: str) -> ChooseScreen:
    """A yes/no question for something that cannot be undone; answers ``"yes"`` or None. ``y`` and ``n`` work."""
    return ChooseScreen(
        title, message, [("no", "[n] No, keep it"), ("yes", f"[y] {yes}")], keys={"y": "yes", "n": "no"}, danger=True
    )
