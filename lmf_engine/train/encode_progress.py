"""Events for the background encoder of lazy data: "encoding in background: N of M rows" while training runs.

The callback reads the encoder's shared counters at step ends (at most every ``every_s`` seconds), writes a ``log``
event when the count moved, one when the cache is complete, and fails the run at once when the encoder found a bad
row and ``on_bad_row`` is ``fail``.
"""

import time
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

if TYPE_CHECKING:
    from lmf_engine.data.background import BackgroundEncoder
    from lmf_engine.runs.events import EventWriter

EVERY_S = 5.0


def progress_message(done: int, total: int) -> str:
    return f"encoding in background: {done:,} of {total:,} rows"


class EncodeProgressCallback(TrainerCallback):
    """Reports a :class:`BackgroundEncoder`'s progress as run events."""

    def __init__(self, encoder: "BackgroundEncoder", events: "EventWriter | None", every_s: float = EVERY_S) -> None:
        self.encoder = encoder
        self.events = events
        self.every_s = every_s
        self.last_t = 0.0
        self.last_done = -1
        self.ended = False

    def _emit(self, message: str, **fields: Any) -> None:
        if self.events is not None:
            self.events.emit("log", message=message, phase="encode", **fields)

    def report(self, force: bool = False) -> None:
        """Emit the current count (when it moved and ``every_s`` passed, or ``force``); raise on a bad row."""
        self.encoder.check()
        if self.ended:
            return
        now = time.monotonic()
        if not force and now - self.last_t < self.every_s:
            return
        self.last_t = now
        done, total = self.encoder.rows_done, self.encoder.total
        if self.encoder.finished:
            self.ended = True
            code = self.encoder.process.exitcode
            if done >= total:
                message = f"encoded in background: all {total:,} rows; the next epoch and run read the cache"
                if (bad := self.encoder.bad_rows()).count:
                    message += f"; {bad}"
            else:
                message = (
                    f"background encoding ended early (exit code {code}) at {done:,} of {total:,} rows; "
                    "training goes on encoding rows as it reads them"
                )
            self._emit(message, rows_done=done, rows_total=total)
            return
        if done != self.last_done:
            self.last_done = done
            self._emit(progress_message(done, total), rows_done=done, rows_total=total)

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.report(force=True)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.report()

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.report(force=True)
