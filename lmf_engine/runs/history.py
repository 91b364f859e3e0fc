"""Everything a run folder has recorded, read incrementally: metric series, progress, events, stdout, system samples.

:class:`RunHistory` follows one run folder. Each :meth:`RunHistory.refresh` reads only the bytes its files gained:
``events.jsonl`` for a run of lmf workbench or ``trainer_log.jsonl`` for a plain LLaMA-Factory output folder, and
``system.jsonl`` and ``stdout.log`` for both. Metrics go to :class:`Series` (two ``array('d')`` each), everything
else is bounded (deques, an evenly thinned sample list), so a run of 100,000 steps costs a few megabytes and opens in
a fraction of a second.
"""

from __future__ import annotations

import os
import time
from collections import deque
from typing import Any

from lmf_engine.monitor.records import SYSTEM_FILE
from lmf_engine.monitor.samples import SystemSample
from lmf_engine.monitor.summary import SummaryAccumulator, SystemSummary

from .events import EVENTS_FILE
from .metrics import MetricsBuilder
from .progress import Progress
from .record import RUN_FILE, STDOUT_FILE, TRAINER_LOG_FILE
from .run_config import CachedConfig, RunConfigError
from .series import Series
from .store import TRAINER_STATE_FILE, RunInfo, open_run
from .system_history import ThinnedSamples
from .tail import FileTail, TailState, file_stamp, json_objects

__all__ = ["Progress", "RunHistory", "Series"]

LIVENESS_CHECK_S = 2.0
"""How often an active run whose run.json did not change is checked for a process that is gone (lost)."""
STDOUT_BYTES_PER_LINE = 1024
"""How far back from the end of stdout.log a read starts, per line kept."""


def _screen_line(line: str) -> str:
    """What a terminal shows of a line that rewrote itself with carriage returns (progress bars)."""
    line = line.rstrip("\r")
    return line.rsplit("\r", 1)[-1] if "\r" in line else line


class RunHistory:
    """The recorded history of one run folder, brought up to date by :meth:`refresh`.

    ``series`` maps each metric (loss, eval_loss, lr, grad_norm, epoch, tokens_per_s, samples_per_s and any other
    number the run logged) to its :class:`Series` over optimizer steps; ``tokens`` is the tokens seen at each step
    (empty when the run does not count them). ``events`` holds the events that are not progress or plain metric
    logs, ``stdout`` the last lines of stdout.log, ``system`` the system samples (thinned evenly beyond
    ``max_samples``) and ``system_summary`` the summary of every sample. Not thread-safe: one thread at a time.
    """

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        *,
        max_events: int = 5000,
        stdout_lines: int = 400,
        max_samples: int = 20000,
    ) -> None:
        self.info: RunInfo = open_run(run_dir)
        self.run_dir = self.info.path
        self._from_events = self.info.kind == "run"
        self._metrics = MetricsBuilder(trainer_log=not self._from_events)
        self.progress = Progress()
        self.events: deque[dict[str, Any]] = deque(maxlen=max_events)
        self.stdout: deque[str] = deque(maxlen=stdout_lines)
        self.checkpoints: list[str] = []
        self.system_summary = SystemSummary()
        self._samples = ThinnedSamples(max_samples)
        self._summary = SummaryAccumulator()
        self._log = FileTail(self.run_dir / (EVENTS_FILE if self._from_events else TRAINER_LOG_FILE))
        self._system_tail = FileTail(self.run_dir / SYSTEM_FILE)
        self._stdout_tail = FileTail(self.run_dir / STDOUT_FILE)
        self._config = CachedConfig(self.run_dir)
        self._config_read = False
        self._info_stamps = self._info_files()
        self._info_checked = time.monotonic()
        self._dir_mtime: int | None = None
        self.complete = True
        """False when the last :meth:`refresh` ran out of its time budget before the end of the files."""

    @property
    def series(self) -> dict[str, Series]:
        """Each metric's series by name (a new dict when the run's log file was replaced)."""
        return self._metrics.series

    @property
    def tokens(self) -> Series:
        """Tokens seen at each step; empty when the run does not count tokens."""
        return self._metrics.tokens

    @property
    def system(self) -> list[SystemSample]:
        """The system samples kept: at most ``max_samples``, spread evenly over the run, the newest last."""
        return self._samples.samples

    def refresh(self, budget_s: float | None = None) -> bool:
        """Read what the run folder gained since the last call; True when anything changed.

        With ``budget_s`` the log and the system samples are read for about that long at most, in whole blocks from
        the start, and :attr:`complete` is False until a later call has read the rest: a long run's curves can be
        shown as they load, as TensorBoard shows its event files. Raises FileNotFoundError when the folder is gone.
        """
        if not self.run_dir.is_dir():
            raise FileNotFoundError(2, "the run folder is gone", str(self.run_dir))
        deadline = None if budget_s is None else time.monotonic() + budget_s
        self.complete = True
        changed = self._refresh_info()
        if not self._config_read:
            self._read_config()
        changed = self._refresh_log(deadline) or changed
        changed = self._refresh_system(deadline) or changed
        changed = self._refresh_stdout() or changed
        return self._refresh_checkpoints() or changed

    def _read_config(self) -> None:
        """The run's config, once it is there (it only serves samples/s: a broken one counts as empty)."""
        try:
            self._config_read = self._config.refresh()
        except (RunConfigError, OSError):
            self._config_read = True
        self._metrics.set_config(self._config.values)

    # --- run.json -------------------------------------------------------------------------------------------

    def _info_files(self) -> tuple[tuple[int, int] | None, ...]:
        names = (RUN_FILE,) if self.info.kind == "run" else (TRAINER_LOG_FILE, TRAINER_STATE_FILE)
        return tuple(file_stamp(self.run_dir / name) for name in names)

    def _refresh_info(self) -> bool:
        stamps = self._info_files()
        now = time.monotonic()
        due = self.info.active and now - self._info_checked >= LIVENESS_CHECK_S
        if stamps == self._info_stamps and not due:
            return False
        self._info_stamps, self._info_checked = stamps, now
        info = open_run(self.run_dir)
        changed = info != self.info
        self.info = info
        return changed

    # --- events.jsonl / trainer_log.jsonl -------------------------------------------------------------------

    def _out_of_time(self, deadline: float | None) -> bool:
        if deadline is not None and time.monotonic() > deadline:
            self.complete = False
        return not self.complete

    def _refresh_log(self, deadline: float | None) -> bool:
        state = self._log.check()
        if state is TailState.RESTARTED:
            self._metrics.clear()
            self._metrics.set_config(self._config.values)
            self.events.clear()
        elif state is not TailState.GROWN:
            return False
        read = state is TailState.RESTARTED
        for block in self._log.chunks():
            read = True
            if self._from_events:
                self._metrics.take_events(json_objects(block), self.events)
            else:
                self._metrics.take_trainer_log(json_objects(block))
            if self._out_of_time(deadline):
                break
        self.progress = self._metrics.progress(None if self._from_events else self._log.mtime)
        return read

    # --- system.jsonl, stdout.log, checkpoints --------------------------------------------------------------

    def _refresh_system(self, deadline: float | None) -> bool:
        if not self.complete:
            return False
        state = self._system_tail.check()
        if state is TailState.RESTARTED:
            self._samples.clear()
            self._summary = SummaryAccumulator()
        elif state is not TailState.GROWN:
            return False
        read = state is TailState.RESTARTED
        for block in self._system_tail.chunks():
            read = True
            for data in json_objects(block):
                sample = SystemSample.from_dict(data)
                self._samples.add(sample)
                self._summary.add(sample)
            if self._out_of_time(deadline):
                break
        self.system_summary = self._summary.summary()
        return read

    def _refresh_stdout(self) -> bool:
        tail = self._stdout_tail
        state = tail.check()
        if state is TailState.RESTARTED:
            self.stdout.clear()
        elif state is not TailState.GROWN:
            return False
        window = max(self.stdout.maxlen or 0, 1) * STDOUT_BYTES_PER_LINE
        if tail.size - tail.offset > window:
            tail.skip_to(tail.size - window)
        read = state is TailState.RESTARTED
        for block in tail.chunks():
            read = True
            lines = block.decode("utf-8", errors="replace").split("\n")
            self.stdout.extend(_screen_line(line) for line in lines[:-1])
        return read

    def _refresh_checkpoints(self) -> bool:
        mtime = os.stat(self.run_dir).st_mtime_ns
        if mtime == self._dir_mtime:
            return False
        self._dir_mtime = mtime
        found = []
        with os.scandir(self.run_dir) as entries:
            for entry in entries:
                suffix = entry.name.removeprefix("checkpoint-")
                if suffix != entry.name and suffix.isdigit() and entry.is_dir():
                    found.append((int(suffix), entry.name))
        checkpoints = [name for _, name in sorted(found)]
        changed = checkpoints != self.checkpoints
        self.checkpoints = checkpoints
        return changed
