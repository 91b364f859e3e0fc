"""The right side of the Datasets screen: what is shown, the search bar, the page of rows and the row detail."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from ..dataset_entries import Entry
from .row_detail import RowDetail
from .rows_table import PageRow, RowsTable
from .search_bar import SearchBar


@dataclass
class SearchState:
    """An active search: the query, its column, where each page of matches started, and whether more follow."""

    query: str
    column: str | None
    starts: list[int] = field(default_factory=lambda: [0])
    more: bool = False
    last: int = -1


@dataclass
class Page:
    """Rows ``start``… of one file of ``entry`` (``shown_file`` as the user reads it), or search matches."""

    entry: Entry
    file_index: int
    shown_file: Path
    start: int
    columns: list[str]
    rows: list[PageRow]
    search: SearchState | None = None


class RowsPanel(Vertical):
    """Title line, search bar, rows table and the detail of the highlighted row."""

    DEFAULT_CSS = """
    RowsPanel { width: 1fr; }
    RowsPanel #rows-title { height: auto; padding: 0 1; color: $text-muted; }
    RowsPanel #rows-title.-error { color: $error; }
    """

    class RowShown(Message):
        """The detail now shows ``row`` of ``page``: the screen reads its media."""

        def __init__(self, page: Page, row: PageRow) -> None:
            super().__init__()
            self.page, self.row = page, row

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.page: Page | None = None
        self.total: int | None = None

    def compose(self) -> ComposeResult:
        yield Static("Reading dataset_info.json…", id="rows-title", markup=False)
        yield SearchBar(id="search")
        yield RowsTable(id="rows")
        yield RowDetail(id="detail")

    def show_message(self, text: str, error: bool = False) -> None:
        """No rows to show: say why (an invalid entry, a hub dataset, a failure) and clear the table."""
        self.page = None
        self._title(text, error)
        self.query_one(RowsTable).show_page([], [])
        self.query_one(RowDetail).show_text("")

    def _title(self, text: str, error: bool = False) -> None:
        title = self.query_one("#rows-title", Static)
        title.update(text)
        title.set_class(error, "-error")

    def show_page(self, page: Page, select: int | None = None) -> None:
        self.page = page
        table = self.query_one(RowsTable)
        table.show_page(page.columns, page.rows)
        if select is not None:
            table.move_to(select)
        self.refresh_title()
        self.show_detail()
        if page.search is not None:
            more = "more: ]" if page.search.more else "no more"
            self.query_one(SearchBar).set_status(f"{len(page.rows)} matches ({more})")

    def set_total(self, total: int | None) -> None:
        self.total = total
        self.refresh_title()

    def refresh_title(self) -> None:
        page = self.page
        if page is None:
            return
        entry = page.entry
        parts = [f"{entry.name} · {entry.format} · {entry.kind} · {page.shown_file}"]
        if len(entry.files) > 1:
            parts.append(f"file {page.file_index + 1}/{len(entry.files)} (f: next)")
        count = len(page.rows)
        if page.search is not None:
            parts.append(f"matches for {page.search.query!r} in {page.search.column or 'any column'}")
        elif count:
            of = f" of {self.total:,}" if self.total is not None and len(entry.files) == 1 else ""
            parts.append(f"rows {page.start + 1:,}–{page.start + count:,}{of}")
        else:
            parts.append("no rows")
        bad = sum(1 for row in page.rows if row.reason)
        if bad:
            parts.append(f"{bad} on this page cannot be used ({entry.stage})")
        self._title(" · ".join(parts))

    def show_detail(self) -> None:
        page_row = self.query_one(RowsTable).current()
        detail = self.query_one(RowDetail)
        if page_row is None or self.page is None:
            detail.show_text("")
            return
        detail.show(self.page.shown_file, page_row.index, page_row.row, page_row.example, page_row.reason)
        self.post_message(self.RowShown(self.page, page_row))

    @on(DataTable.RowHighlighted, "#rows")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.show_detail()
