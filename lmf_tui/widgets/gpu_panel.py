"""The GPU and host panel: the app's one sampler's latest reading, with the watched run's processes marked."""

from typing import TYPE_CHECKING, Any

from textual.message import Message
from textual.widgets import Static

from lmf_engine.monitor.panel import render_panel
from lmf_engine.monitor.samples import SystemSample

if TYPE_CHECKING:
    from lmf_engine.monitor.sampler import Sampler


class GpuPanel(Static):
    """Subscribes to ``sampler`` while mounted; each sample arrives from the sampler's thread as a message."""

    DEFAULT_CSS = """
    GpuPanel { height: auto; min-height: 6; border: round $secondary; padding: 0 1; background: $surface; }
    """

    class Sampled(Message):
        def __init__(self, sample: SystemSample) -> None:
            super().__init__()
            self.sample = sample

    def __init__(self, sampler: "Sampler", **kwargs: Any) -> None:
        super().__init__("reading GPUs and host…", **kwargs)
        self.sampler = sampler
        self.border_title = "System"
        self._unsubscribe: Any = None

    def on_mount(self) -> None:
        self._unsubscribe = self.sampler.subscribe(lambda sample: self.post_message(self.Sampled(sample)))
        self.sampler.start()
        if self.sampler.latest is not None:
            self.show(self.sampler.latest)

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def on_gpu_panel_sampled(self, message: "GpuPanel.Sampled") -> None:
        message.stop()
        self.show(message.sample)

    def show(self, sample: SystemSample) -> None:
        self.update(render_panel(sample))

    def watch_run(self, pgid: int | None, pid: int | None) -> None:
        """Mark the processes of this run (its process group, or its process and children) as the run's."""
        self.sampler.unwatch_all()
        if pgid or pid:
            self.sampler.watch(pgid=pgid, pid=pid)
