"""One page of a dataset's rows: row number, whether the row converts, and each column on one line."""

from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.content import Content
from textual.widgets import DataTable

from ..dataset_entries import cell_text

CELL_WIDTH = 36


@dataclass
class PageRow:
    """A row of the page: 0-based index in its file, the raw row, its canonical messages and what is wrong."""

    index: int
    row: dict[str, Any]
    example: Any
    reason: str | None


class RowsTable(DataTable[Any]):
    """The rows of the current page, keyed by row index; ``✗`` marks a row the dataset's stage cannot use."""

    DEFAULT_CSS = """
    RowsTable { height: 1fr; border: round $primary 50%; }
    RowsTable:focus { border: round $primary; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.rows_by_key: dict[str, PageRow] = {}
        self.data_columns: list[str] = []

    def show_page(self, columns: list[str], rows: list[PageRow]) -> None:
        """Replace the table with ``rows``. Column widths are computed here from the cells (each at most
        CELL_WIDTH), so that a page read in the background is drawn at its final widths at once."""
        self.clear(columns=True)
        self.rows_by_key = {}
        self.data_columns = list(columns)
        numbers = [str(page_row.index + 1) for page_row in rows]
        cells = [[cell_text(r.row[c], CELL_WIDTH) if c in r.row else "" for c in columns] for r in rows]
        self.add_column("#", key="#", width=max([1, *map(cell_len, numbers)]))
        self.add_column("ok", key="ok", width=2)
        for i, column in enumerate(columns):
            width = max([cell_len(column), *(cell_len(row_cells[i]) for row_cells in cells)])
            self.add_column(Text(column), key=f"col:{column}", width=width)
        for number, page_row, row_cells in zip(numbers, rows, cells, strict=True):
            key = str(page_row.index)
            self.rows_by_key[key] = page_row
            mark = Content.styled("✗", "$error") if page_row.reason else Content.styled("✓", "$success")
            self.add_row(number, mark, *map(Text, row_cells), key=key)  # dataset text: never markup

    def columns_names(self) -> list[str]:
        """The dataset's own columns shown (not ``#`` and ``ok``)."""
        return list(self.data_columns)

    def current(self) -> PageRow | None:
        """The row under the cursor."""
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.rows_by_key.get(key) if key is not None else None

    def move_to(self, index: int) -> None:
        """Put the cursor on row ``index`` when it is on this page."""
        key = str(index)
        if key in self.rows_by_key:
            self.move_cursor(row=self.get_row_index(key))
