"""One run opened from the runs screen: its charts, events, stdout, checkpoints, config and system summary."""

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Footer, Header

from lmf_engine.runs.store import open_run

from ..bindings import bindings_for
from ..palette import PaletteCommand
from ..run_actions import ask_resume, ask_stop, show_next_steps
from ..widgets.gpu_panel import GpuPanel
from ..widgets.run_view import RunView
from .base import WorkbenchScreen
from .train import NARROW_BELOW


class RunScreen(WorkbenchScreen):
    """Pushed over the runs screen; Esc goes back."""

    BINDINGS: list[BindingType] = bindings_for("run")
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (NARROW_BELOW, "-wide")]
    DEFAULT_CSS = """
    RunScreen.-narrow RunView #chart-grid { grid-size: 2; }
    RunScreen.-narrow RunView GpuPanel { width: 40; }
    """

    def __init__(self, run_dir: Path) -> None:
        super().__init__()
        self.run_dir = run_dir

    def compose(self) -> ComposeResult:
        yield Header()
        yield RunView(side=GpuPanel(self.workbench.sampler), id="run-view")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.sub_title = str(self.workbench.workspace.display(self.run_dir))
        self.query_one(RunView).follow(self.run_dir)

    def action_back(self) -> None:
        self.dismiss()

    def action_smooth(self) -> None:
        self.notify(f"smoothing {self.query_one(RunView).cycle_smoothing():g}", timeout=2)

    def action_log_scale(self) -> None:
        self.notify("log scale" if self.query_one(RunView).toggle_log() else "linear scale", timeout=2)

    def action_stop(self) -> None:
        ask_stop(self, open_run(self.run_dir))

    def action_resume(self) -> None:
        ask_resume(self, open_run(self.run_dir))

    def action_chat(self) -> None:
        show_next_steps(self, open_run(self.run_dir))

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            PaletteCommand("Run: stop", "The trainer saves a checkpoint and stops", self.action_stop),
            PaletteCommand("Run: resume", "From the newest or a chosen checkpoint", self.action_resume),
            PaletteCommand("Run: chat / export", "Commands for a finished run", self.action_chat),
            PaletteCommand("Run: back to the runs", "Close this run", self.action_back),
        ]
