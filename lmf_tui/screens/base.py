"""What every workbench screen shares: header and footer, its bindings from data, and the worker error handler."""

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from textual.screen import Screen
from textual.worker import Worker, WorkerState

from ..palette import PaletteCommand
from ..workers import describe_error

if TYPE_CHECKING:
    from ..app import WorkbenchApp


class WorkbenchScreen(Screen[None]):
    """A numbered screen. Subclasses set ``BINDINGS = bindings_for("<screen>")`` and may add palette commands."""

    @property
    def workbench(self) -> "WorkbenchApp":
        return cast("WorkbenchApp", self.app)

    def palette_commands(self) -> Iterable[PaletteCommand]:
        """Commands this screen adds to the command palette."""
        return ()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a failed worker is reported: an error panel, and the screen's :meth:`job_failed`. A worker
        that returns a text (a stop or a delete) has it shown as a notification."""
        if event.state is WorkerState.SUCCESS and isinstance(event.worker.result, str):
            self.notify(event.worker.result)
        if event.state is not WorkerState.ERROR or event.worker.error is None:
            return
        message, details = describe_error(event.worker.error)
        self.job_failed(event.worker)
        self.workbench.show_error(event.worker.description or event.worker.name, message, details)

    def job_failed(self, worker: Worker) -> None:
        """Reset whatever the failed worker was filling in (progress bars, 'loading' marks)."""
