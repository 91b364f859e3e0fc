"""Work that runs in thread workers (never on the UI thread), and how a failed worker is described to the user.

Screens start these through ``@work(thread=True, exclusive=True, exit_on_error=False)`` methods that post
messages back; a worker that raises reaches :meth:`lmf_tui.screens.base.WorkbenchScreen.on_worker_state_changed`,
the one handler that shows the error panel. Heavy libraries (transformers via the tokenizer) are imported here,
inside the functions, only when a screen asks for tokens.
"""

import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from lmf_engine.chat.errors import ChatError
from lmf_engine.config import Config, ConfigError
from lmf_engine.data.errors import DataError
from lmf_engine.data.preview import Cancel, PreviewError, RowSource, open_rows
from lmf_engine.data.stats import LengthStats, length_stats
from lmf_engine.model.tokenizer import ModelLoadError
from lmf_engine.runs.inference import RunConfigError

from .dataset_entries import Entry, check_row
from .settings import SettingsError

if TYPE_CHECKING:
    from lmf_engine.data.inspect import InspectSetup
    from lmf_engine.data.processors import Stage

USER_ERRORS = (ConfigError, DataError, PreviewError, ModelLoadError, SettingsError, ChatError, RunConfigError, OSError)
"""Errors a user can fix: shown as their message alone, without a traceback (with the two below)."""
BIG_CUTOFF = 1 << 30
BATCH = 256
HISTOGRAM_BINS = 12


def describe_error(error: BaseException) -> tuple[str, str | None]:
    """The message to show and, for an unexpected error, the traceback as details."""
    from lmf_engine.data.samples import SampleError
    from lmf_engine.data.templates import TemplateError

    if isinstance(error, (*USER_ERRORS, SampleError, TemplateError)):
        return str(error), None
    details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return f"{type(error).__name__}: {error}", details


_setups: dict[tuple[str, float, str | None], "InspectSetup"] = {}
_loading = threading.Lock()


def setup_for(config: Config, path: Path) -> "InspectSetup":
    """The tokenizer and template of ``config`` (read from ``path``), loaded once and reused until the file changes.

    Imports transformers: only ever called from a worker thread.
    """
    from lmf_engine.data.inspect import setup_from_config

    key = (str(path), path.stat().st_mtime, config.data.template)
    with _loading:
        if key not in _setups:
            setup = setup_from_config(config)
            _setups.clear()
            _setups[key] = setup
        return _setups[key]


def open_source(entry: Entry, file_index: int) -> RowSource:
    """The rows of one of the entry's files (raises PreviewError / DataError with the file named)."""
    if entry.error is not None:
        raise DataError(entry.error, dataset=entry.name)
    if not entry.files:
        raise DataError(
            f"dataset {entry.name} comes from {entry.where}: rows of hub datasets are not previewed (no download)",
            dataset=entry.name,
        )
    return open_rows(entry.files[file_index % len(entry.files)])


def count_rows(entry: Entry, progress: Callable[[float], None], cancel: Cancel) -> int | None:
    """Rows of all the entry's files; ``progress(fraction)``; None when cancelled."""
    total = 0
    sizes = [p.stat().st_size for p in entry.files]
    done_bytes = 0
    for path, size in zip(entry.files, sizes, strict=True):
        source = open_rows(path)
        counted = source.count(lambda done, _, base=done_bytes: progress((base + done) / max(1, sum(sizes))), cancel)
        if counted is None:
            return None
        total += counted
        done_bytes += size
    return total


def _lengths(columns: dict[str, list[Any]], stage: str) -> list[int]:
    if stage == "rm":
        return [
            max(len(c), len(r))
            for c, r in zip(columns["chosen_input_ids"], columns["rejected_input_ids"], strict=True)
        ]
    return [len(ids) for ids in columns["input_ids"]]


def token_lengths(
    config: Config, setup: "InspectSetup", entry: Entry, sources: list[RowSource], cancel: Cancel, skipped: list[int]
) -> Iterator[int]:
    """The untruncated token length of every usable row, encoded as the entry's stage encodes it (with a
    multimodal template, each image's tokens included, as they count against cutoff_len in training).

    Rows that cannot be converted are counted in ``skipped[0]``.
    """
    from lmf_engine.data.processors import EncodeOptions, encode

    data = config.data
    stage = cast("Stage", entry.stage)
    options = EncodeOptions(
        cutoff_len=BIG_CUTOFF,
        train_on_prompt=data.train_on_prompt and stage == "sft",
        mask_history=data.mask_history and stage == "sft",
        packing=False if stage == "pt" else None,
        media=setup.options.media,
    )
    batch = []
    for source in sources:
        for _, row in source.iter_rows(0):
            if cancel.cancelled:
                return
            example, reason = check_row(row, entry)
            if example is None or reason is not None:
                skipped[0] += 1
                continue
            batch.append(example)
            if len(batch) == BATCH:
                yield from _lengths(encode(stage, setup.template, setup.tokenizer, batch, options), stage)
                batch = []
    if batch:
        yield from _lengths(encode(stage, setup.template, setup.tokenizer, batch, options), stage)


def compute_stats(
    config: Config,
    setup: "InspectSetup",
    entry: Entry,
    sources: list[RowSource],
    progress: Callable[[int], None],
    cancel: Cancel,
) -> tuple[LengthStats, int]:
    """Length statistics of the entry's rows against the config's ``cutoff_len``, and the rows skipped."""
    skipped = [0]
    lengths = token_lengths(config, setup, entry, sources, cancel, skipped)
    stats = length_stats(
        lengths, config.data.cutoff_len, bins=HISTOGRAM_BINS, progress=progress, cancel=cancel, every=BATCH
    )
    stats.complete = stats.complete and not cancel.cancelled
    return stats, skipped[0]


def search_rows(
    source: RowSource, query: str, column: str | None, start: int, limit: int, cancel: Cancel
) -> tuple[list[tuple[int, dict[str, Any]]], bool]:
    """Up to ``limit`` matches from row ``start``; True when the file has no more matches after them."""
    found: list[tuple[int, dict[str, Any]]] = []
    for index, row in source.search(query, column, start, cancel):
        if len(found) == limit:
            return found, False
        found.append((index, row))
    return found, True
