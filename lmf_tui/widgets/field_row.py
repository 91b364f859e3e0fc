"""One config key in the form: its name, an editor (a select for choices and booleans, else text), its issue."""

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Label, Select, Static

from lmf_engine.config import FieldInfo

from ..config_document import format_value

UNSET = "(default)"


def _choices(info: FieldInfo) -> list[tuple[str, Any]] | None:
    """Labels and values of a select for this key, or None when it takes free text."""
    if info.choices is not None:
        options = [(str(c), c) for c in info.choices]
    elif info.type_name in ("bool", "bool | null"):
        options = [("true", True), ("false", False)]
    else:
        return None
    if info.nullable:
        options.append(("null", None))
    return options


class FieldRow(Vertical):
    """Posts :class:`FieldRow.Changed` with the new raw value (``unset=True`` when cleared back to the default)."""

    DEFAULT_CSS = """
    FieldRow { height: auto; padding: 0 1; }
    FieldRow > Horizontal { height: auto; }
    FieldRow Label { width: auto; min-width: 31; padding: 0 1 0 0; color: $text; }
    FieldRow.-set Label { color: $primary; text-style: bold; }
    FieldRow Input, FieldRow Select { width: 1fr; }
    FieldRow .issue { display: none; color: $error; padding-left: 31; }
    FieldRow.-invalid .issue { display: block; }
    FieldRow.-invalid Label { color: $error; }
    FieldRow:focus-within { background: $boost; }
    """

    class Changed(Message):
        def __init__(self, row: "FieldRow", text: str | None, value: Any, unset: bool) -> None:
            super().__init__()
            self.row, self.text, self.value, self.unset = row, text, value, unset

    def __init__(self, info: FieldInfo | None, key: str, value: Any, is_set: bool) -> None:
        super().__init__(id=f"field-{key}")
        self.info = info
        self.key = key
        self.options = _choices(info) if info is not None else None
        self.initial = value
        self.set_class(is_set, "-set")

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(Content(self.key))
            if self.options is not None:
                options = list(self.options)
                labels = [label for label, _ in options]
                selected: Any = Select.NULL
                if self.has_class("-set"):
                    match = [label for label, v in options if v == self.initial and type(v) is type(self.initial)]
                    if not match:
                        options.append((format_value(self.initial), self.initial))
                        match = [format_value(self.initial)]
                        labels.append(match[0])
                    selected = match[0]
                default = format_value(self.info.default) if self.info is not None else ""
                yield Select(
                    [(Content(label), label) for label in labels],  # values from the user's file: never markup
                    prompt=f"{default} {UNSET}",
                    value=selected,
                    compact=True,
                    id="editor",
                )
                self.options = options
            else:
                default = format_value(self.info.default) if self.info is not None else ""
                text = format_value(self.initial) if self.has_class("-set") else ""
                yield Input(text, placeholder=f"{default} {UNSET}", compact=True, id="editor")
        yield Static("", classes="issue", markup=False)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.set_class(bool(event.value.strip()), "-set")
        self.post_message(self.Changed(self, event.value, None, not event.value.strip()))

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value is Select.NULL:
            self.set_class(False, "-set")
            self.post_message(self.Changed(self, None, None, True))
            return
        value = next(v for label, v in self.options or [] if label == event.value)
        self.set_class(True, "-set")
        self.post_message(self.Changed(self, None, value, False))

    def set_issue(self, message: str | None) -> None:
        self.set_class(message is not None, "-invalid")
        self.query_one(".issue", Static).update(message or "")
