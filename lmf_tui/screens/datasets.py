"""Screen 1: the workspace's datasets, a paged view of their rows, row detail, search and token-length statistics."""

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header
from textual.worker import Worker

from ..bindings import bindings_for
from ..dataset_entries import Entry
from ..palette import PaletteCommand
from ..widgets.dataset_list import DatasetList
from ..widgets.length_panel import LengthPanel
from ..widgets.media_panel import MediaPanel
from ..widgets.rows_panel import RowsPanel, SearchState
from ..widgets.rows_table import RowsTable
from ..widgets.search_bar import SearchBar
from .ask import AskScreen
from .datasets_jobs import DatasetJobs


class DatasetsScreen(DatasetJobs):
    BINDINGS = bindings_for("datasets")
    DEFAULT_CSS = "DatasetsScreen #left { width: 50; }"

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[str, Entry] = {}
        self.current: Entry | None = None
        self.file_index = 0
        self.seen_config: Path | None = None
        self.media_serial = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            with Vertical(id="left"):
                yield DatasetList(id="dataset-list")
                yield LengthPanel(id="lengths")
            yield RowsPanel(id="rows-panel")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.seen_config = self.workbench.config_path
        self.query_one(MediaPanel).renderer = self.workbench.settings.images
        self.load_entries()

    def on_screen_resume(self) -> None:
        """Another config may name another dataset_dir: read the registry again."""
        if self.seen_config != self.workbench.config_path:
            self.seen_config = self.workbench.config_path
            self.action_reload()

    @property
    def panel(self) -> RowsPanel:
        return self.query_one(RowsPanel)

    @property
    def search(self) -> SearchState | None:
        page = self.panel.page
        return page.search if page is not None else None

    def job_failed(self, worker: Worker) -> None:
        if worker.group == "stats":
            self.query_one(LengthPanel).stop("Token lengths failed (see the error).")
        elif worker.group == "page":
            self.query_one(RowsTable).loading = False
            self.panel.show_message(f"{worker.description} failed: {worker.error}", error=True)
        elif worker.group == "media":
            self.query_one(MediaPanel).clear()

    def read_page(self, entry: Entry, file_index: int, start: int, select: int | None = None) -> None:
        """Read a page in the background; the table shows a loading indicator until it arrives."""
        self.query_one(RowsTable).loading = True
        self.load_page(entry, file_index, start, select)

    def find_rows(self, entry: Entry, file_index: int, search: SearchState, start: int) -> None:
        """Search in the background, from row ``start``, with the loading indicator."""
        self.query_one(RowsTable).loading = True
        self.run_search(entry, file_index, search, start)

    # --- results -------------------------------------------------------------------------------------------

    def on_dataset_jobs_entries_loaded(self, message: DatasetJobs.EntriesLoaded) -> None:
        self.entries = {entry.name: entry for entry in message.entries}
        self.query_one(DatasetList).show_entries(message.entries)
        if message.problem is not None:
            self.panel.show_message(message.problem, error=True)
            return
        if not message.entries:
            where = self.workbench.workspace.display(message.dataset_dir)
            self.panel.show_message(f"{where}/dataset_info.json has no entries")
            return
        self.count_all(message.entries)
        self.query_one(DatasetList).focus()

    def on_dataset_jobs_rows_counted(self, message: DatasetJobs.RowsCounted) -> None:
        if message.count is not None:
            self.counts[message.name] = message.count
            if self.current is not None and self.current.name == message.name:
                self.panel.set_total(message.count)
        self.query_one(DatasetList).set_rows(message.name, message.text)

    def on_dataset_jobs_page_loaded(self, message: DatasetJobs.PageLoaded) -> None:
        self.query_one(RowsTable).loading = False
        if self.current is not None and message.page.entry.name == self.current.name:
            self.panel.show_page(message.page, message.select)

    def on_dataset_jobs_stats_progress(self, message: DatasetJobs.StatsProgress) -> None:
        panel = self.query_one(LengthPanel)
        if message.started:
            panel.start(message.what, message.total)
        else:
            panel.advance(message.done, message.total)

    def on_dataset_jobs_stats_done(self, message: DatasetJobs.StatsDone) -> None:
        self.query_one(LengthPanel).finish(message.what, message.stats, message.skipped)

    def on_rows_panel_row_shown(self, message: RowsPanel.RowShown) -> None:
        """A row with media columns: read its media in the background (one row at a time)."""
        entry = message.page.entry
        if entry.spec is None or not entry.spec.media_columns:
            return
        self.media_serial += 1
        key = str(self.media_serial)
        self.query_one(MediaPanel).begin(key)
        self.load_media(key, entry, message.row.row)

    def on_dataset_jobs_media_read(self, message: DatasetJobs.MediaRead) -> None:
        panel = self.query_one(MediaPanel)
        if message.item is None:
            panel.finish(message.key)
        else:
            panel.add(message.key, message.item)

    @on(DataTable.RowHighlighted, "#dataset-list")
    def _dataset_highlighted(self, event: DataTable.RowHighlighted) -> None:
        name = event.row_key.value
        if name is not None and (self.current is None or self.current.name != name):
            self.open_entry(name)

    @on(DataTable.RowSelected, "#dataset-list")
    def _dataset_selected(self, _: DataTable.RowSelected) -> None:
        self.query_one(RowsTable).focus()

    def open_entry(self, name: str, file_index: int = 0) -> None:
        entry = self.entries[name]
        self.current, self.file_index = entry, file_index
        self.query_one(SearchBar).close()
        if entry.error is not None:
            self.panel.show_message(entry.error, error=True)
            return
        if not entry.files:
            self.panel.show_message(f"{name} comes from {entry.where}: hub datasets are not previewed (no download)")
            return
        self.panel.show_message(f"{name}: reading rows…")
        self.panel.total = self.counts.get(name)
        self.read_page(entry, file_index, 0)

    def on_search_bar_submitted(self, message: SearchBar.Submitted) -> None:
        if (entry := self._ready()) is not None:
            self.find_rows(entry, self.file_index, SearchState(message.query, message.column), 0)
            self.query_one(SearchBar).set_status("searching…")

    # --- actions -------------------------------------------------------------------------------------------

    def _ready(self) -> Entry | None:
        """The selected entry when it has local files to show."""
        return self.current if self.current is not None and self.current.files and not self.current.error else None

    def action_next_page(self) -> None:
        entry, page = self._ready(), self.panel.page
        if entry is None or page is None:
            return
        if page.search is not None:
            if page.search.more:
                page.search.starts.append(page.search.last + 1)
                self.find_rows(entry, self.file_index, page.search, page.search.last + 1)
            return
        total = self.counts.get(entry.name) if len(entry.files) == 1 else None
        if len(page.rows) == self.page_size and (total is None or page.start + self.page_size < total):
            self.read_page(entry, self.file_index, page.start + self.page_size)

    def action_prev_page(self) -> None:
        entry, page = self._ready(), self.panel.page
        if entry is None or page is None:
            return
        if page.search is not None:
            if len(page.search.starts) > 1:
                page.search.starts.pop()
                self.find_rows(entry, self.file_index, page.search, page.search.starts[-1])
        elif page.start > 0:
            self.read_page(entry, self.file_index, max(0, page.start - self.page_size))

    def action_goto_row(self) -> None:
        if self._ready() is not None:
            self.app.push_screen(AskScreen("Go to row (1-based)", "row number"), self._goto)

    def _goto(self, answer: str | None) -> None:
        entry = self._ready()
        if answer is None or entry is None:
            return
        if not answer.isdigit() or int(answer) < 1:
            self.notify(f"{answer!r} is not a row number (1, 2, …)", severity="error")
            return
        index = int(answer) - 1
        self.query_one(SearchBar).close()
        self.read_page(entry, self.file_index, index - index % self.page_size, select=index)

    def action_search(self) -> None:
        if self._ready() is not None:
            self.query_one(SearchBar).open(self.query_one(RowsTable).columns_names())

    def action_stats(self) -> None:
        entry = self._ready()
        if entry is None:
            self.notify("Select a dataset with local files first.", severity="warning")
        elif self.workbench.config_path is None:
            self.notify("No config: open or create one in the Config screen (3).", severity="warning")
        else:
            shown = self.workbench.workspace.display(self.workbench.config_path)
            self.query_one(LengthPanel).start(f"{entry.name}: loading the tokenizer of {shown}…", None)
            self.run_stats(entry, self.workbench.config_path)

    def action_next_file(self) -> None:
        entry = self._ready()
        if entry is not None and len(entry.files) > 1:
            self.open_entry(entry.name, (self.file_index + 1) % len(entry.files))

    def action_focus_list(self) -> None:
        self.query_one(DatasetList).focus()

    def action_cancel(self) -> None:
        """Cancel the running statistics, else leave the search, else close the search bar."""
        stats = self.cancels.get("stats")
        if stats is not None and not stats.cancelled and self.query_one(LengthPanel).has_class("-running"):
            stats.set()
            return
        bar = self.query_one(SearchBar)
        if self.search is None and not bar.is_open:
            return
        if "search" in self.cancels:
            self.cancels["search"].set()
            self.query_one(RowsTable).loading = False
        bar.close()
        entry = self._ready()
        if self.search is not None and entry is not None:
            self.read_page(entry, self.file_index, 0)
        self.query_one(RowsTable).focus()

    def action_reload(self) -> None:
        for cancel in self.cancels.values():
            cancel.set()
        self.sources.clear()
        self.counts.clear()
        self.current = None
        self.load_entries()

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            PaletteCommand(
                "Datasets: token-length statistics", "Histogram, percentiles, share cut", self.action_stats
            ),
            PaletteCommand("Datasets: search in a column", "Find rows containing a text", self.action_search),
            PaletteCommand("Datasets: go to row", "Jump to a row number", self.action_goto_row),
            PaletteCommand("Datasets: next page", "The next rows", self.action_next_page),
            PaletteCommand("Datasets: previous page", "The previous rows", self.action_prev_page),
            PaletteCommand("Datasets: reload dataset_info.json", "Read the registry again", self.action_reload),
        ]
