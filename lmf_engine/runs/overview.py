"""The rows of the runs table: one summary line per run folder, kept up to date cheaply.

:class:`RunsOverview` is refreshed every second or so with many runs. Per run it keeps byte offsets and reads only
what ``trainer_log.jsonl`` and ``system.jsonl`` gained, re-reads the config only when its file changes, and checks
whether an active run's process is gone at most every few seconds. A folder that cannot be read becomes a row with
state ``unreadable`` and the error, never an exception.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from operator import methodcaller
from pathlib import Path
from typing import Any

from lmf_engine.monitor.records import SYSTEM_FILE

from .progress import is_number, parse_duration
from .record import RUN_FILE, TRAINER_LOG_FILE
from .run_config import CachedConfig, RunConfigError
from .store import TRAINER_STATE_FILE, RunInfo, is_run_dir, open_run
from .system_history import GpuPeak
from .tail import FileTail, TailState, file_stamp, json_objects

LIVENESS_CHECK_S = 5.0
"""How often an active run whose run.json did not change is checked for a process that is gone (lost)."""
ADAPTER_CONFIG_FILE = "adapter_config.json"
ALL_RESULTS_FILE = "all_results.json"


@dataclass
class RunRow:
    """One run in the runs table. A value the run does not tell is None; ``state`` is ``lost`` for a run whose
    process is gone, ``unreadable`` (with ``error``) for a folder that could not be read."""

    name: str
    path: Path
    kind: str
    state: str
    stage: str | None = None
    finetuning_type: str | None = None
    model: str | None = None
    datasets: str | None = None
    step: int | None = None
    total_steps: int | None = None
    last_loss: float | None = None
    best_loss: float | None = None
    eval_loss: float | None = None
    peak_gpu_mem_mb: float | None = None
    duration_s: float | None = None
    started_at: float | None = None
    active: bool = False
    error: str | None = None


def short_model(name: Any) -> str | None:
    """``model_name_or_path`` cut to its last two path parts (``/data/models/Qwen/Qwen2.5-7B``: ``Qwen/Qwen2.5-7B``)"""
    if not isinstance(name, str) or not name.strip():
        return None
    parts = [part for part in name.strip().replace("\\", "/").split("/") if part]
    return "/".join(parts[-2:])


def dataset_list(value: Any) -> str | None:
    """The ``dataset`` key as ``a, b`` (it is a comma-separated string, or a list)."""
    if isinstance(value, list | tuple):
        names = [str(item).strip() for item in value]
    elif isinstance(value, str):
        names = [part.strip() for part in value.split(",")]
    else:
        return None
    return ", ".join(name for name in names if name) or None


def _finite(value: Any) -> float | None:
    return float(value) if is_number(value) and math.isfinite(value) else None


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None


@dataclass
class _Losses:
    """What the runs table shows of a run's logged lines."""

    step: int | None = None
    total_steps: int | None = None
    last_loss: float | None = None
    best_loss: float | None = None
    eval_loss: float | None = None
    elapsed_s: float | None = None

    def take(self, lines: list[dict[str, Any]]) -> None:
        """Take logged lines (trainer_log.jsonl lines, or trainer_state.json's log history), in order.

        Each key's values are pulled out of all the lines at once: a long run's first read stays cheap.
        """
        if not lines:
            return
        losses = [loss for loss in map(methodcaller("get", "loss"), lines) if _finite(loss) is not None]
        if losses:
            low = min(losses)
            self.last_loss = float(losses[-1])
            self.best_loss = float(low) if self.best_loss is None else min(self.best_loss, float(low))
        self.eval_loss = _last(lines, "eval_loss", _finite, self.eval_loss)
        self.step = _last(lines, ("current_steps", "step"), _int, self.step)
        self.total_steps = _last(lines, ("total_steps", "max_steps"), _int, self.total_steps)
        self.elapsed_s = _last(lines, "elapsed_time", parse_duration, self.elapsed_s)


def _int(value: Any) -> int | None:
    return int(value) if is_number(value) else None


def _last(
    lines: list[dict[str, Any]], keys: str | tuple[str, ...], convert: Callable[[Any], Any], default: Any
) -> Any:
    """The converted value of the last line that has one of ``keys`` (a value ``convert`` makes None is skipped)."""
    names = (keys,) if isinstance(keys, str) else keys
    for line in reversed(lines):
        for name in names:
            value = convert(line.get(name))
            if value is not None:
                return value
    return default


class _RunTracker:
    """What the overview knows of one run folder, and the offsets to read on from."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.info: RunInfo | None = None
        self._error: Exception | None = None
        self._info_stamps: tuple[tuple[int, int] | None, ...] | None = None
        self._info_checked = 0.0
        self._config = CachedConfig(path)
        self._log = FileTail(path / TRAINER_LOG_FILE)
        self._losses = _Losses()
        self._system = FileTail(path / SYSTEM_FILE)
        self._peak = GpuPeak()
        self._extra_stamps: tuple[tuple[int, int] | None, ...] | None = None
        self._extra: dict[str, Any] = {}

    def row(self, now: float, wall: float) -> RunRow:
        """Bring the tracker up to date and return the run's row; raises on a folder it cannot read."""
        info = self._refresh_info(now)
        try:
            self._config.refresh()
            config_error = None
        except (RunConfigError, OSError) as err:  # the run is still there: show it, with what is wrong
            config_error = str(err)
        self._refresh_log()
        self._refresh_system()
        self._refresh_extra()
        values = {**self._extra.get("config", {}), **self._config.values}
        losses = self._losses if self._log.size else self._extra.get("losses", self._losses)
        row = RunRow(
            name=info.name,
            path=info.path,
            kind=info.kind,
            state="lost" if info.lost else info.state,
            stage=values.get("stage") if isinstance(values.get("stage"), str) else None,
            finetuning_type=values.get("finetuning_type") if isinstance(values.get("finetuning_type"), str) else None,
            model=short_model(values.get("model_name_or_path")),
            datasets=dataset_list(values.get("dataset")),
            step=losses.step,
            total_steps=losses.total_steps,
            last_loss=losses.last_loss,
            best_loss=losses.best_loss,
            eval_loss=losses.eval_loss if losses.eval_loss is not None else self._extra.get("eval_loss"),
            peak_gpu_mem_mb=self._peak.peak_mb,
            active=info.active,
        )
        record = info.record
        if record is not None:
            row.error = record.error
            row.started_at = record.started_at
            end = record.ended_at if record.final else (wall if record.active else None)
            if record.started_at is not None and end is not None:
                row.duration_s = max(0.0, end - record.started_at)
        else:
            row.duration_s = losses.elapsed_s if losses.elapsed_s is not None else self._extra.get("runtime")
            if row.duration_s is not None and self._log.mtime is not None:
                row.started_at = self._log.mtime - row.duration_s
        row.error = row.error or config_error
        return row

    def _refresh_info(self, now: float) -> RunInfo:
        """The run's info, read again when its files changed, and for an active run every few seconds (whether its
        process is gone). A folder that could not be read raises the same error until its files change."""
        # a run's record is its run.json; a LLaMA-Factory folder's state comes from its trainer_log and trainer_state
        stamps: tuple[tuple[int, int] | None, ...] = (file_stamp(self.path / RUN_FILE),)
        if stamps[0] is None:
            stamps += (file_stamp(self.path / TRAINER_LOG_FILE), file_stamp(self.path / TRAINER_STATE_FILE))
        info = self.info
        due = info is not None and info.active and now - self._info_checked >= LIVENESS_CHECK_S
        if stamps == self._info_stamps and not due:
            if self._error is not None:
                raise self._error
            if info is not None:
                return info
        self._info_stamps, self._info_checked, self._error = stamps, now, None
        try:
            info = self.info = open_run(self.path)
        except Exception as err:
            self.info, self._error = None, err
            raise
        return info

    def _refresh_log(self) -> None:
        state = self._log.check()
        if state is TailState.RESTARTED:
            self._losses = _Losses()
        elif state is not TailState.GROWN:
            return
        for block in self._log.chunks():
            self._losses.take(json_objects(block))

    def _refresh_system(self) -> None:
        state = self._system.check()
        if state is TailState.RESTARTED:
            self._peak = GpuPeak()
        elif state is not TailState.GROWN:
            return
        for block in self._system.chunks():
            for sample in json_objects(block):
                self._peak.add(sample)

    def _refresh_extra(self) -> None:
        """What a LLaMA-Factory folder tells besides its trainer_log: trainer_state.json, all_results.json and the
        adapter's config (read again only when one of them changes)."""
        if self.info is None or self.info.kind != "llamafactory":
            return
        names = (TRAINER_STATE_FILE, ALL_RESULTS_FILE, ADAPTER_CONFIG_FILE)
        stamps = tuple(file_stamp(self.path / name) for name in names)
        if stamps == self._extra_stamps:
            return
        self._extra_stamps = stamps
        extra: dict[str, Any] = {}
        state = _read_json(self.path / TRAINER_STATE_FILE)
        if isinstance(state, dict):
            losses = _Losses()
            losses.take([entry for entry in state.get("log_history") or () if isinstance(entry, dict)])
            losses.take([{"step": state.get("global_step"), "max_steps": state.get("max_steps")}])
            extra["losses"] = losses
        results = _read_json(self.path / ALL_RESULTS_FILE)
        if isinstance(results, dict):
            extra["runtime"] = _finite(results.get("train_runtime"))
            extra["eval_loss"] = _finite(results.get("eval_loss"))
        adapter = _read_json(self.path / ADAPTER_CONFIG_FILE)
        if isinstance(adapter, dict):
            config: dict[str, Any] = {"model_name_or_path": adapter.get("base_model_name_or_path")}
            if str(adapter.get("peft_type", "")).upper() == "LORA":
                config["finetuning_type"] = "lora"
            extra["config"] = config
        self._extra = extra


def _unreadable(path: Path, error: BaseException) -> RunRow:
    kind = "run" if (path / RUN_FILE).exists() else "llamafactory"
    return RunRow(name=path.name, path=path, kind=kind, state="unreadable", error=f"{type(error).__name__}: {error}")


class RunsOverview:
    """The runs under ``root`` (each folder directly in it that holds a run) and the ``extra`` run folders added
    by path. :meth:`refresh` returns their rows, newest first. Used by one thread at a time."""

    def __init__(self, root: Path, extra: list[Path] | None = None) -> None:
        self.root = Path(root)
        self.extra: list[Path] = []
        self._trackers: dict[Path, _RunTracker] = {}
        for path in extra or ():
            self.add(path)

    def add(self, path: Path) -> None:
        """Show the run folder ``path`` too (a LLaMA-Factory output folder elsewhere, say)."""
        path = Path(path).expanduser().resolve()
        if path not in self.extra:
            self.extra.append(path)

    def _folders(self) -> list[Path]:
        found: list[Path] = []
        try:
            entries = list(os.scandir(self.root))
        except (FileNotFoundError, NotADirectoryError):
            entries = []
        for entry in entries:
            path = Path(entry.path).resolve()
            if entry.is_dir() and (path in self._trackers or is_run_dir(path)):
                found.append(path)
        return found + [path for path in self.extra if path not in found]

    def refresh(self) -> list[RunRow]:
        """Every run's row, newest first (by start time, else by the folder's modification time)."""
        now, wall = time.monotonic(), time.time()
        rows = []
        folders = self._folders()
        for path in folders:
            tracker = self._trackers.get(path)
            if tracker is None:
                tracker = self._trackers[path] = _RunTracker(path)
            try:
                rows.append(tracker.row(now, wall))
            except Exception as err:  # a row says what went wrong with the folder; the table goes on
                rows.append(_unreadable(path, err))
        for path in set(self._trackers) - set(folders):
            del self._trackers[path]
        return sorted(rows, key=_newest_first)


def _newest_first(row: RunRow) -> float:
    if row.started_at is not None:
        return -row.started_at
    try:
        return -row.path.stat().st_mtime
    except OSError:
        return math.inf
