"""Search within one column (or all): a column choice and the text to find."""

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Select, Static


class SearchBar(Horizontal):
    """Hidden until asked for; Enter posts :class:`SearchBar.Submitted`."""

    DEFAULT_CSS = """
    SearchBar { height: auto; display: none; }
    SearchBar.-open { display: block; }
    SearchBar Select { width: 30; }
    SearchBar Input { width: 1fr; }
    SearchBar #search-status { width: auto; padding: 0 1; color: $text-muted; }
    """

    class Submitted(Message):
        def __init__(self, query: str, column: str | None) -> None:
            super().__init__()
            self.query = query
            self.column = column

    def compose(self) -> ComposeResult:
        yield Select[str]([], prompt="any column", compact=True, id="search-column")
        yield Input(placeholder="text to find (Enter searches, Esc clears)", compact=True, id="search-query")
        yield Static("", id="search-status", markup=False)

    def open(self, columns: list[str]) -> None:
        select = self.query_one(Select)
        current = select.value
        select.set_options([(c, c) for c in columns])
        if current in columns:
            select.value = current
        self.add_class("-open")
        self.query_one(Input).focus()

    def close(self) -> None:
        self.remove_class("-open")
        self.set_status("")

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def set_status(self, text: str) -> None:
        self.query_one("#search-status", Static).update(text)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value:
            return
        column = self.query_one(Select).value
        self.post_message(self.Submitted(event.value, column if isinstance(column, str) else None))
