"""Recording samples: a JSON Lines writer, and the training child's own ``system.jsonl``.

The run's recorder is a :class:`Sampler` thread of the training child (world rank 0) that watches the child's own
process group and appends a sample every ``LMF_SYSTEM_INTERVAL`` seconds (default 5). It never makes a run fail:
its first error is logged and it stops recording.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path

from .records import SYSTEM_FILE
from .sampler import Sampler
from .samples import SystemSample
from .sources import LiveSource

log = logging.getLogger(__name__)

INTERVAL_VARIABLE = "LMF_SYSTEM_INTERVAL"
DEFAULT_INTERVAL_S = 5.0


def system_interval(environ: Mapping[str, str] | None = None) -> float:
    """Seconds between a run's samples: ``LMF_SYSTEM_INTERVAL``, default 5; ValueError naming a bad value."""
    raw = (os.environ if environ is None else environ).get(INTERVAL_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_INTERVAL_S
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{INTERVAL_VARIABLE}={raw!r}: expected a number of seconds greater than 0")
    return value


class SampleWriter:
    """Appends samples to a JSON Lines file (``SystemSample.to_dict()`` a line), flushed per line."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = self.path.open("a", encoding="utf-8")

    def write(self, sample: SystemSample) -> None:
        self._handle.write(json.dumps(sample.to_dict(), ensure_ascii=False) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


class RunRecorder:
    """Appends this machine's samples to ``<run_dir>/system.jsonl`` from a daemon thread, this process group's GPU
    processes marked as the run's. Neither :meth:`start` nor :meth:`stop` raises."""

    def __init__(self, run_dir: Path, *, interval: float = DEFAULT_INTERVAL_S) -> None:
        self.path = Path(run_dir) / SYSTEM_FILE
        self.interval = interval
        self.sampler: Sampler | None = None
        self._writer: SampleWriter | None = None
        self.failed = False

    def start(self) -> None:
        """Open the file and start sampling (the first sample is taken at once)."""
        try:
            self._writer = SampleWriter(self.path)
            self.sampler = Sampler(LiveSource(self.path.parent), interval=self.interval)
            self.sampler.watch(pgid=os.getpgid(0))
            self.sampler.subscribe(self._write)
            self.sampler.start()
        except Exception as err:
            self._fail(err)

    def stop(self) -> None:
        """Stop the thread, append one last sample and close the file."""
        try:
            if self.sampler is not None and self.sampler.stop() and not self.failed:
                self.sampler.sample_now()
        except Exception as err:
            self._fail(err)
        finally:
            self._close()

    def _write(self, sample: SystemSample) -> None:
        if self.failed or self._writer is None:
            return
        try:
            self._writer.write(sample)
        except Exception as err:
            self._fail(err)

    def _fail(self, err: Exception) -> None:
        if self.failed:
            return
        self.failed = True
        log.warning("System samples are no longer recorded in %s: %s: %s", self.path, type(err).__name__, err)
        if self.sampler is not None:
            self.sampler.stop()

    def _close(self) -> None:
        for part in (self.sampler, self._writer):
            try:
                if part is not None:
                    part.close()
            except Exception as err:
                log.debug("Closing the system recorder: %s", err)


def start_run_recorder(run_dir: Path, environ: Mapping[str, str] | None = None) -> RunRecorder:
    """Record the run's system samples every ``LMF_SYSTEM_INTERVAL`` seconds until :meth:`RunRecorder.stop`.

    A bad ``LMF_SYSTEM_INTERVAL`` is logged as an error and the default interval is used: a run never fails for it.
    """
    try:
        interval = system_interval(environ)
    except ValueError as err:
        log.error("%s; system samples are recorded every %g s", err, DEFAULT_INTERVAL_S)
        interval = DEFAULT_INTERVAL_S
    recorder = RunRecorder(run_dir, interval=interval)
    recorder.start()
    return recorder
