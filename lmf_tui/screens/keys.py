"""Every key binding, with its id for rebinding, grouped by where it applies (``?``)."""

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from ..bindings import KEYS, SCOPE_TITLES, effective_keys


class KeysScreen(ModalScreen[None]):
    """The full key list; ``keymap`` holds the user's overrides (binding id -> keys)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "dismiss", "Close", id="keys.close")]
    DEFAULT_CSS = """
    KeysScreen { align: center middle; }
    KeysScreen > Vertical {
        width: 100; max-width: 95%; height: 90%; border: thick $primary; background: $surface; padding: 0 1;
    }
    KeysScreen .title { text-style: bold; color: $primary; }
    KeysScreen .hint { color: $text-muted; }
    KeysScreen DataTable { height: 1fr; }
    """

    def __init__(self, keymap: dict[str, str]) -> None:
        super().__init__()
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Key bindings", classes="title")
            yield Static(
                "Rebind any key by its id in the settings file ([keys] table) or LMF_TUI_KEYS. Esc closes.",
                classes="hint",
                markup=False,
            )
            yield DataTable(cursor_type="row", zebra_stripes=True, id="keys-table")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Where", "Keys", "Does", "Id")
        for spec in KEYS:
            keys = effective_keys(spec, self.keymap)
            shown = ", ".join(self.app.get_key_display(Binding(k, "")) for k in keys.split(","))
            table.add_row(SCOPE_TITLES[spec.scope], Text(shown), spec.description, spec.id, key=spec.id)
        table.focus()
