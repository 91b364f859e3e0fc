"""The runs table: one row per run, filtered by text, sorted by any column, marked for comparison, updated in place."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.content import Content
from textual.widgets import DataTable

from lmf_engine.runs.overview import RunRow

from ..run_poll import elapsed_text

MARK = "●"


def _float(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


def _when(seconds: float | None) -> str:
    return time.strftime("%m-%d %H:%M", time.localtime(seconds)) if seconds else ""


@dataclass(frozen=True)
class Column:
    """A column: its key and title, the cell text of a row, and the value it sorts by."""

    key: str
    title: str
    cell: Callable[[RunRow], str]
    sort: Callable[[RunRow], Any]


def _steps(row: RunRow) -> str:
    if row.step is None:
        return ""
    return f"{row.step}/{row.total_steps}" if row.total_steps else str(row.step)


def _gpu(row: RunRow) -> str:
    return "" if row.peak_gpu_mem_mb is None else f"{row.peak_gpu_mem_mb / 1024:.1f}G"


def _tail(text: str | None, width: int) -> str:
    """The end of a long text (a model path's last part names it), cut with an ellipsis."""
    text = text or ""
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def _head(text: str | None, width: int) -> str:
    text = text or ""
    return text if len(text) <= width else text[: width - 1] + "…"


def _number_or(value: float | None, missing: float) -> float:
    return missing if value is None else value


COLUMNS: tuple[Column, ...] = (
    Column("name", "name", lambda r: r.name, lambda r: r.name.lower()),
    Column("state", "state", lambda r: r.state, lambda r: r.state),
    Column("steps", "steps", _steps, lambda r: _number_or(r.step, -1)),
    Column("loss", "loss", lambda r: _float(r.last_loss, ".4f"), lambda r: _number_or(r.last_loss, float("inf"))),
    Column("best", "best", lambda r: _float(r.best_loss, ".4f"), lambda r: _number_or(r.best_loss, float("inf"))),
    Column("eval", "eval", lambda r: _float(r.eval_loss, ".4f"), lambda r: _number_or(r.eval_loss, float("inf"))),
    Column("stage", "stage", lambda r: r.stage or "", lambda r: r.stage or ""),
    Column("type", "type", lambda r: r.finetuning_type or "", lambda r: r.finetuning_type or ""),
    Column("model", "model", lambda r: _tail(r.model, 24), lambda r: (r.model or "").lower()),
    Column("datasets", "datasets", lambda r: _head(r.datasets, 24), lambda r: (r.datasets or "").lower()),
    Column("gpu", "peak GPU", _gpu, lambda r: _number_or(r.peak_gpu_mem_mb, -1)),
    Column("duration", "duration", lambda r: elapsed_text(r.duration_s), lambda r: _number_or(r.duration_s, -1)),
    Column("started", "started", lambda r: _when(r.started_at), lambda r: _number_or(r.started_at, 0)),
)
"""The columns, the ones a person compares runs by first (so that they stay in view on an 80-column terminal)."""
COLUMN_KEYS = tuple(column.key for column in COLUMNS)
STATE_STYLES = {"running": "bold", "failed": "reverse", "lost": "reverse", "stopping": "italic"}


def matches(row: RunRow, text: str) -> bool:
    """True when every word of ``text`` appears in one of the row's cells (case-insensitive)."""
    cells = " ".join(column.cell(row) for column in COLUMNS).lower() + " " + str(row.path).lower()
    return all(word in cells for word in text.lower().split())


class RunsTable(DataTable[Any]):
    """Rows keyed by the run folder's path. :meth:`show` puts in the rows of a refresh, keeping the cursor."""

    DEFAULT_CSS = """
    RunsTable { height: 1fr; border: round $primary 50%; }
    RunsTable:focus { border: round $primary; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.border_title = "Runs"
        self.rows_by_key: dict[str, RunRow] = {}
        self.marked: set[str] = set()
        self.filter_text = ""
        self.sort_key = "started"
        self.sort_reverse = True

    def on_mount(self) -> None:
        self.add_column(" ", key="mark", width=1)
        for column in COLUMNS:
            self.add_column(column.title, key=column.key)

    def show(self, rows: list[RunRow]) -> None:
        """Show ``rows`` (filtered, sorted), updating the cells that changed and keeping the cursor on its run."""
        self.rows_by_key = {str(row.path): row for row in rows}
        self.marked &= set(self.rows_by_key)
        column = next(c for c in COLUMNS if c.key == self.sort_key)
        shown = sorted(
            (row for row in rows if matches(row, self.filter_text)), key=column.sort, reverse=self.sort_reverse
        )
        wanted = [str(row.path) for row in shown]
        current = [key.value for key in self.rows]
        cursor_key = self.current_key()
        if wanted != current:
            self.clear()
            for row in shown:
                self.add_row(*self._cells(row), key=str(row.path))
            if cursor_key in wanted:
                self.move_cursor(row=wanted.index(cursor_key), animate=False)
        else:
            for row in shown:
                for key, value in zip(("mark", *COLUMN_KEYS), self._cells(row), strict=True):
                    if self.get_cell(str(row.path), key) != value:
                        self.update_cell(str(row.path), key, value)
        state = f" · sorted by {self.sort_key}{' ↓' if self.sort_reverse else ' ↑'}"
        shown_text = f"{len(shown)} of {len(rows)}" if self.filter_text else str(len(rows))
        filtered = f" · filter {self.filter_text!r}" if self.filter_text else ""
        self.border_title = Content(f"Runs ({shown_text}){state}{filtered}")  # plain text: never markup
        self.border_subtitle = f"{len(self.marked)} marked" if self.marked else ""

    def _cells(self, row: RunRow) -> list[Any]:
        mark = MARK if str(row.path) in self.marked else ""
        cells: list[Any] = [mark]
        for column in COLUMNS:
            text = column.cell(row)
            cells.append(Text(text, style=STATE_STYLES.get(text, "")) if column.key == "state" else Text(text))
        return cells

    def current_key(self) -> str | None:
        """The path of the run under the cursor, or None."""
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def current_row(self) -> RunRow | None:
        key = self.current_key()
        return self.rows_by_key.get(key) if key else None

    def toggle_mark(self) -> None:
        key = self.current_key()
        if key is None:
            return
        self.marked ^= {key}
        self.update_cell(key, "mark", MARK if key in self.marked else "")
        self.border_subtitle = f"{len(self.marked)} marked" if self.marked else ""

    def sort_by(self, key: str, reverse: bool | None = None) -> None:
        if reverse is None:
            reverse = not self.sort_reverse if key == self.sort_key else key in ("started", "steps", "duration", "gpu")
        self.sort_key, self.sort_reverse = key, reverse
        self.show(list(self.rows_by_key.values()))

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        if event.column_key.value in COLUMN_KEYS:
            self.sort_by(event.column_key.value)
