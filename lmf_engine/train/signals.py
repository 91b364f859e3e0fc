"""Stopping a run with SIGTERM (or SIGINT): before the training loop at once, inside it after the current step.

Before the loop starts (loading data and the model) a signal raises :class:`StopRequested`, so the child ends
promptly. From :meth:`StopRequest.enter_loop` (the trainer's ``on_train_begin``) until :meth:`StopRequest.leave_loop`
(after the final model is saved) a signal only sets a flag: the run callback sees it at the end of the step, has the
trainer save a checkpoint and leave the loop, and the run ends ``stopped``; a stop during the final save lets it end.
"""

import signal
from types import FrameType


class StopRequested(Exception):
    """A stop signal arrived before the training loop started."""


class StopRequest:
    """A stop flag set by SIGTERM/SIGINT; see the module docstring."""

    def __init__(self) -> None:
        self.requested = False
        self.in_loop = False

    def install(self) -> "StopRequest":
        """Handle SIGTERM and SIGINT in this (main) thread."""
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)
        return self

    def enter_loop(self) -> None:
        """From now on a signal sets the flag instead of raising (the loop stops at a step boundary)."""
        self.in_loop = True

    def leave_loop(self) -> None:
        """After training and the final save: a signal raises again."""
        self.in_loop = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = not self.requested
        self.requested = True
        if first and not self.in_loop:
            raise StopRequested()
