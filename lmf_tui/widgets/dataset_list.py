"""The datasets of dataset_info.json: name, format, kind, size and row count."""

from typing import Any, ClassVar

from rich.text import Text
from textual.widgets import DataTable

from ..dataset_entries import Entry, human_size


class DatasetList(DataTable[str]):
    """One row per entry, keyed by dataset name; the row count fills in as background counting finishes.

    Its CSS is not scoped: it also sizes the column the list sits in on the datasets screen (``#left``), at most 50
    columns and 42% of the width, so that at 80 columns the rows table keeps most of the screen (the name, the list's
    key column, comes first and stays in view).
    """

    SCOPED_CSS: ClassVar[bool] = False
    DEFAULT_CSS = """
    DatasetList { height: 1fr; border: round $primary 50%; }
    DatasetList:focus { border: round $primary; }
    DatasetsScreen > Horizontal > #left { width: 42%; max-width: 50; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.border_title = "Datasets"

    def on_mount(self) -> None:
        self.add_column("name", key="name")
        self.add_column("format", key="format")
        self.add_column("kind", key="kind")
        self.add_column("size", key="size")
        self.add_column("rows", key="rows")

    def show_entries(self, entries: list[Entry]) -> None:
        self.clear()
        for entry in entries:
            name, form = Text(entry.name), Text(str(entry.format))  # names from the registry: never markup
            if entry.error is not None:
                self.add_row(name, "-", "invalid", "-", "-", key=entry.name)
            elif not entry.files:
                self.add_row(name, form, entry.kind, "hub", "-", key=entry.name)
            else:
                self.add_row(name, form, entry.kind, human_size(entry.size), "…", key=entry.name)

    def set_rows(self, name: str, text: str) -> None:
        """Set the rows cell of dataset ``name`` (a count, or counting progress)."""
        self.update_cell(name, "rows", text, update_width=True)
