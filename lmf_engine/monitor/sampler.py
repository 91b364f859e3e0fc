"""One sampler per process: it reads a source, marks the watched runs' GPU processes, keeps the latest sample and
hands each new one to its subscribers.

Every panel of a process shares its one sampler (the host's rates are deltas between the sampler's own readings).
``start`` runs a daemon thread that samples every ``interval`` seconds while anyone is subscribed and sleeps
otherwise; ``sample_now`` reads at once from any thread.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .marking import RunMarker
from .samples import SystemSample
from .sources import LiveSource, ReplaySource, SampleSource

log = logging.getLogger(__name__)

REPLAY_VARIABLE = "LMF_MONITOR_REPLAY"
"""Environment variable naming a recorded sample file that :func:`open_sampler` replays instead of this machine."""
JOIN_TIMEOUT_S = 5.0


@dataclass(eq=False)
class _Subscription:
    callback: Callable[[SystemSample], None]
    failed: bool = False


class Sampler:
    """Samples ``source`` (default: this machine, the disk of ``disk_path``) for every panel of the process."""

    def __init__(
        self, source: SampleSource | None = None, *, interval: float = 1.0, disk_path: Path | None = None
    ) -> None:
        if not (math.isfinite(interval) and interval > 0):
            raise ValueError(f"interval={interval!r}: expected a number of seconds greater than 0")
        self.source: SampleSource = source if source is not None else LiveSource(disk_path)
        self.interval = interval
        self.marker = RunMarker()
        self._latest: SystemSample | None = None
        self._subscriptions: list[_Subscription] = []
        self._read_lock = threading.Lock()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop_thread = threading.Event()
        self._logged_errors: set[str] = set()

    @property
    def latest(self) -> SystemSample | None:
        """The newest sample, or None before the first."""
        return self._latest

    def sample_now(self) -> SystemSample:
        """Read one sample now, keep it as :attr:`latest` and hand it to every subscriber."""
        with self._read_lock:
            sample = self.source.read()
            self.marker.mark(sample)
            self._latest = sample
        with self._wake:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            try:
                subscription.callback(sample)
            except Exception:
                if not subscription.failed:
                    subscription.failed = True
                    log.warning("A sample subscriber failed; its later failures are dropped silently", exc_info=True)
        return sample

    def subscribe(self, callback: Callable[[SystemSample], None]) -> Callable[[], None]:
        """Call ``callback(sample)`` with every new sample, on the sampling thread; returns the unsubscribe function.

        The callback must be quick and must not raise (an exception is logged once and dropped).
        """
        subscription = _Subscription(callback)
        with self._wake:
            self._subscriptions.append(subscription)
            self._wake.notify_all()

        def unsubscribe() -> None:
            with self._wake:
                if subscription in self._subscriptions:
                    self._subscriptions.remove(subscription)

        return unsubscribe

    def watch(self, pgid: int | None = None, pid: int | None = None) -> None:
        """Mark as the run's the GPU processes of process group ``pgid``, and ``pid`` with its descendants."""
        self.marker.watch(pgid=pgid, pid=pid)

    def unwatch_all(self) -> None:
        """Mark no process as a run's any more."""
        self.marker.unwatch_all()

    def start(self) -> None:
        """Start the sampling thread (nothing happens when it runs already)."""
        with self._wake:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop_thread = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(self._stop_thread,), name="lmf-monitor-sampler", daemon=True
            )
            self._thread.start()

    def stop(self) -> bool:
        """Stop the sampling thread (it may be started again); False when it is still inside a reading after
        waiting ``JOIN_TIMEOUT_S`` seconds for it (a driver call that hangs), or when called from that thread."""
        with self._wake:
            thread, self._thread = self._thread, None
            self._stop_thread.set()
            self._wake.notify_all()
        if thread is None:
            return True
        if thread is threading.current_thread():
            return False
        thread.join(JOIN_TIMEOUT_S)
        return not thread.is_alive()

    def close(self) -> None:
        """Stop the thread and release the source (NVML), unless the thread is stuck in a reading."""
        if self.stop():
            with self._read_lock:
                self.source.close()

    def _run(self, stopped: threading.Event) -> None:
        due = time.monotonic()
        while True:
            with self._wake:
                while not stopped.is_set() and not self._subscriptions:
                    self._wake.wait()
                    due = max(due, time.monotonic())
                if stopped.is_set():
                    return
                delay = due - time.monotonic()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
            try:
                self.sample_now()
            except Exception as err:
                self._log_once(err)
            due = max(due + self.interval, time.monotonic())

    def _log_once(self, err: Exception) -> None:
        message = f"{type(err).__name__}: {err}"
        if message not in self._logged_errors:
            self._logged_errors.add(message)
            log.warning("Sampling failed (%s); the sampler goes on", message, exc_info=err)


def open_sampler(
    environ: Mapping[str, str] | None = None, *, interval: float = 1.0, disk_path: Path | None = None
) -> Sampler:
    """The process's sampler: replaying the file named by ``LMF_MONITOR_REPLAY`` when set, else this machine.

    Raises :class:`~lmf_engine.monitor.sources.ReplayError` when that file is missing or holds no sample.
    """
    replay = (os.environ if environ is None else environ).get(REPLAY_VARIABLE)
    if replay:
        return Sampler(ReplaySource(Path(replay)), interval=interval)
    return Sampler(LiveSource(disk_path), interval=interval)
