"""The Datasets screen's background work: each worker posts its result as a message to the screen.

A worker that raises reaches :meth:`lmf_tui.screens.base.WorkbenchScreen.on_worker_state_changed` (the error panel).
"""

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textual import work
from textual.message import Message
from textual.worker import get_current_worker

from lmf_engine.data.cut_text import cut_value
from lmf_engine.data.errors import DataError
from lmf_engine.data.media_info import MediaInfoError, read_media, row_media
from lmf_engine.data.preview import PREVIEW_CHARS, Cancel, PreviewError, RowSource
from lmf_engine.data.registry import read_dataset_info
from lmf_engine.data.stats import LengthStats

from ..dataset_entries import Entry, check_row, read_entries
from ..widgets.media_panel import MediaItem
from ..widgets.rows_panel import Page, SearchState
from ..widgets.rows_table import PageRow
from ..workers import compute_stats, count_rows, open_source, search_rows, setup_for
from .base import WorkbenchScreen

PROGRESS_EVERY_S = 0.2


def throttled(post: Callable[..., None]) -> Callable[..., None]:
    """``post`` called at most every PROGRESS_EVERY_S seconds (progress from a worker thread)."""
    last = [0.0]

    def call(*args: object) -> None:
        if time.monotonic() - last[0] > PROGRESS_EVERY_S:
            last[0] = time.monotonic()
            post(*args)

    return call


class DatasetJobs(WorkbenchScreen):
    """Reading the registry, counting rows, reading a page, searching, measuring token lengths and reading the
    media of the shown row."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}
        self.sources: dict[tuple[str, int], RowSource] = {}
        self.cancels: dict[str, Cancel] = {}

    def on_unmount(self) -> None:
        for cancel in self.cancels.values():
            cancel.set()

    class EntriesLoaded(Message):
        def __init__(self, entries: list[Entry], dataset_dir: Path, problem: str | None) -> None:
            super().__init__()
            self.entries, self.dataset_dir, self.problem = entries, dataset_dir, problem

    class RowsCounted(Message):
        def __init__(self, name: str, text: str, count: int | None = None) -> None:
            super().__init__()
            self.name, self.text, self.count = name, text, count

    class PageLoaded(Message):
        def __init__(self, page: Page, select: int | None = None) -> None:
            super().__init__()
            self.page, self.select = page, select

    class StatsProgress(Message):
        def __init__(self, what: str, done: int, total: int | None, started: bool = False) -> None:
            super().__init__()
            self.what, self.done, self.total, self.started = what, done, total, started

    class StatsDone(Message):
        def __init__(self, what: str, stats: LengthStats, skipped: int) -> None:
            super().__init__()
            self.what, self.stats, self.skipped = what, stats, skipped

    class MediaRead(Message):
        """One medium of the row ``key`` read (``item``), or all of them (``item`` None)."""

        def __init__(self, key: str, item: MediaItem | None) -> None:
            super().__init__()
            self.key, self.item = key, item

    @work(thread=True, exclusive=True, exit_on_error=False, group="entries", description="Reading datasets")
    def load_entries(self) -> None:
        config = self.workbench.workspace.config_or_none(self.workbench.config_path)
        workspace = self.workbench.workspace
        dataset_dir = workspace.dataset_dir(config)
        try:
            info = read_dataset_info(dataset_dir)
        except DataError as exc:
            self.post_message(self.EntriesLoaded([], dataset_dir, str(exc)))
            return
        entries = read_entries(info, dataset_dir, workspace.media_dir(config))
        self.post_message(self.EntriesLoaded(entries, dataset_dir, None))

    @work(thread=True, exclusive=True, exit_on_error=False, group="count", description="Counting rows")
    def count_all(self, entries: list[Entry]) -> None:
        cancel = self._cancel("count")
        for entry in entries:
            if not entry.files or entry.error:
                continue
            progress = throttled(lambda f, name=entry.name: self.post_message(self.RowsCounted(name, f"{f:.0%}")))
            try:
                count = count_rows(entry, progress, cancel)
            except (PreviewError, OSError):  # shown with its file and line when the dataset is opened
                self.post_message(self.RowsCounted(entry.name, "unreadable"))
                continue
            if count is None:
                return
            self.post_message(self.RowsCounted(entry.name, f"{count:,}", count))

    def _source(self, entry: Entry, file_index: int) -> RowSource:
        key = (entry.name, file_index)
        if key not in self.sources:
            self.sources[key] = open_source(entry, file_index)
        return self.sources[key]

    def _page(self, entry: Entry, file_index: int, start: int, found: Iterable[tuple[int, dict]]) -> Page:
        source = self._source(entry, file_index)
        shown = [(index, cut_value(row, PREVIEW_CHARS)) for index, row in found]  # search matches come whole
        rows = [PageRow(index, row, *check_row(row, entry)) for index, row in shown]
        shown = Path(self.workbench.workspace.display(source.path))
        return Page(entry, file_index, shown, start, source.columns(), rows)

    @work(thread=True, exclusive=True, exit_on_error=False, group="page", description="Reading rows")
    def load_page(self, entry: Entry, file_index: int, start: int, select: int | None = None) -> None:
        rows = self._source(entry, file_index).page(start, self.page_size, keep=PREVIEW_CHARS)  # bounded memory
        found = enumerate(rows, start=start)
        self.post_message(self.PageLoaded(self._page(entry, file_index, start, found), select))

    @work(thread=True, exclusive=True, exit_on_error=False, group="page", description="Searching rows")
    def run_search(self, entry: Entry, file_index: int, search: SearchState, start: int) -> None:
        cancel = self._cancel("search")
        source = self._source(entry, file_index)
        found, done = search_rows(source, search.query, search.column, start, self.page_size, cancel)
        if cancel.cancelled:
            return
        search.more = not done
        search.last = found[-1][0] if found else start - 1
        page = self._page(entry, file_index, start, found)
        page.search = search
        self.post_message(self.PageLoaded(page))

    @work(thread=True, exclusive=True, exit_on_error=False, group="stats", description="Token-length statistics")
    def run_stats(self, entry: Entry, config_path: Path) -> None:
        cancel = self._cancel("stats")
        workspace = self.workbench.workspace
        shown_config = workspace.display(config_path)
        config = workspace.load_config(config_path)
        setup = setup_for(config, config_path)
        total = self.counts.get(entry.name)
        what = f"{entry.name} with {shown_config} (template {setup.template.name})"
        self.post_message(self.StatsProgress(f"{what}: measuring…", 0, total, True))
        progress = throttled(lambda done: self.post_message(self.StatsProgress("", done, total)))
        sources = [self._source(entry, i) for i in range(len(entry.files))]
        stats, skipped = compute_stats(config, setup, entry, sources, progress, cancel)
        self.post_message(self.StatsDone(what, stats, skipped))

    @work(thread=True, exclusive=True, exit_on_error=False, group="media", description="Reading the row's media")
    def load_media(self, key: str, entry: Entry, row: dict[str, Any]) -> None:
        """Read each image, video and audio of ``row`` in turn, posting each as soon as it is read; a row shown
        meanwhile cancels this one (it stops between media, and inside a long audio file)."""
        assert entry.spec is not None
        worker = get_current_worker()
        workspace = self.workbench.workspace
        for ref in row_media(row, entry.spec, entry.media_dir):
            if worker.is_cancelled:
                return
            shown = workspace.display(Path(ref.path)) if ref.path is not None else ref.value
            try:
                item = MediaItem(ref, shown, read_media(ref, stop=lambda: worker.is_cancelled))
            except MediaInfoError as exc:  # the message names the file: as the user reads its path
                problem = str(exc).replace(ref.path, shown) if ref.path is not None else str(exc)
                item = MediaItem(ref, shown, problem=problem)
            self.post_message(self.MediaRead(key, item))
        self.post_message(self.MediaRead(key, None))

    def _cancel(self, group: str) -> Cancel:
        """A fresh cancel flag for ``group``, cancelling the previous job of that group."""
        if group in self.cancels:
            self.cancels[group].set()
        self.cancels[group] = Cancel.new()
        return self.cancels[group]

    @property
    def page_size(self) -> int:
        return self.workbench.settings.page_size
