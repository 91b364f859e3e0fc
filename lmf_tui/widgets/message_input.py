"""The chat's message box: Enter sends, ctrl+j (or alt+enter) starts a new line, it grows up to eight lines."""

from dataclasses import dataclass
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import TextArea

PLACEHOLDERS = {
    "user": "Message (Enter sends, ctrl+j new line)",
    "observation": "Tool result, sent as a `tool` message (ctrl+t: send a user message instead)",
    "edit": "Edit the message and press Enter: the conversation forks from here (Esc: keep it as it was)",
}


class MessageInput(TextArea):
    """A multi-line input whose Enter sends; ``mode`` (user, observation, edit) sets the hint shown when empty."""

    DEFAULT_CSS = """
    MessageInput { height: auto; min-height: 3; max-height: 10; border: round $secondary 60%; }
    MessageInput:focus { border: round $secondary; }
    MessageInput.-observation { border: round $accent; }
    MessageInput.-edit { border: round $warning; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+j,alt+enter", "newline", "New line", show=False, id="chat.newline"),
    ]

    @dataclass
    class Submitted(Message):
        """Enter was pressed with ``text`` in the box."""

        input: "MessageInput"
        text: str

    def __init__(self, **kwargs: object) -> None:
        super().__init__(soft_wrap=True, show_line_numbers=False, highlight_cursor_line=False, **kwargs)  # type: ignore[arg-type]
        self.mode = "user"
        self.placeholder = PLACEHOLDERS["user"]

    def set_mode(self, mode: str) -> None:
        """``user``, ``observation`` (a tool result) or ``edit`` (an earlier message being changed)."""
        self.mode = mode
        self.placeholder = PLACEHOLDERS[mode]
        for name in PLACEHOLDERS:
            self.set_class(name == mode, f"-{name}")

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted(self, self.text))
            return
        await super()._on_key(event)

    def action_newline(self) -> None:
        self.insert("\n")
