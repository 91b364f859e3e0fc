"""Screen 4: start a run from a config, then watch it live: progress, charts, events, stdout and the GPUs.

The run is a child process in its own session (the engine's launcher): quitting the app or losing the SSH
connection leaves it going, and opening the screen again re-attaches to the newest run of the workspace that is
still going (else the newest one) with its whole history.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Button, Footer, Header
from textual.worker import Worker, WorkerState

from lmf_engine.config import ConfigError, ConfigIssue
from lmf_engine.runs.launch_plan import LaunchError
from lmf_engine.runs.launcher import LaunchedRun, LaunchPreview, RunStartError, newest_checkpoint
from lmf_engine.runs.store import RunInfo, RunStateError, list_runs, open_run

from ..bindings import bindings_for
from ..launch import LaunchOptions, StartMode, find_launch_configs, next_free_dir, prepare, start
from ..palette import PaletteCommand
from ..run_actions import ask_resume, ask_stop, show_next_steps
from ..widgets.gpu_panel import GpuPanel
from ..widgets.launch_panel import LaunchPanel
from ..widgets.run_view import RunView, state_name
from ..workspace import Workspace
from .base import WorkbenchScreen
from .choose import ChooseScreen, confirm

PREVIEW_DELAY_S = 0.3
NARROW_BELOW = 120
"""Below this many columns the launch form is hidden until ctrl+l shows it (in place of the run)."""
LAUNCH_ERRORS = (ConfigError, LaunchError, RunStartError, RunStateError, OSError)


@dataclass
class Planned:
    """A preview worker's answer: the options it planned, and the plan or the problems."""

    options: LaunchOptions
    preview: LaunchPreview | None = None
    issues: list[ConfigIssue] | None = None
    error: str | None = None


def plan(screen: "TrainScreen", options: LaunchOptions) -> Planned:
    """Validate the config with the options and plan the launch (runs in a worker thread)."""
    try:
        _, preview = prepare(screen.workbench.workspace, options)
    except ConfigError as exc:
        return Planned(options, issues=exc.issues)
    except LAUNCH_ERRORS as exc:
        return Planned(options, error=str(exc))
    return Planned(options, preview)


@dataclass(frozen=True)
class StartFailure:
    """Why a start was refused (a user can fix it: no traceback)."""

    message: str


def start_safely(workspace: Workspace, options: LaunchOptions, mode: StartMode) -> LaunchedRun | StartFailure:
    """Start the run (in a worker thread); a refusal comes back as a :class:`StartFailure`."""
    try:
        return start(workspace, options, mode)
    except LAUNCH_ERRORS as exc:
        return StartFailure(str(exc))


def preview_content(planned: Planned, display: Callable[[Path], str], unsaved: str | None = None) -> Content:
    """The launch preview: the run folder and what it holds, the exact command; or what stops the start. ``unsaved``
    says the Config screen holds unsaved changes to this config (the run would use the file as saved)."""
    if planned.issues:
        lines = [Content.styled(f"{len(planned.issues)} problem(s) stop the start:", "bold $error")]
        lines += [Content.styled(f"• {issue}", "$error") for issue in planned.issues[:8]]
        lines.append(Content.styled(f"ctrl+g: fix {planned.issues[0].key or 'the file'} in Config", "$accent"))
        return Content("\n").join(lines)
    if planned.error or planned.preview is None:
        return Content.styled(planned.error or "cannot plan the run", "$error")
    preview = planned.preview
    lines = [Content.assemble(("Run folder ", "bold"), display(preview.run_dir))]
    if preview.existing is not None:
        state = "running" if preview.existing.active else preview.existing.state
        lines.append(Content.styled(f"holds run {preview.run_dir.name} ({state}): you will be asked", "$warning"))
    elif preview.occupied:
        lines.append(Content.styled("the folder is not empty: you will be asked", "$warning"))
    processes = preview.plan.num_processes
    lines.append(Content.assemble(("Processes ", "bold"), str(processes)))
    lines.append(Content.assemble(("Command ", "bold"), Content.styled(preview.command_text, "$text-muted")))
    if unsaved:
        lines.append(
            Content.styled(f"Config has {unsaved}: the run uses the file as saved (ctrl+s there)", "$warning")
        )
    return Content("\n").join(lines)


class TrainScreen(WorkbenchScreen):
    BINDINGS = bindings_for("train")
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (NARROW_BELOW, "-wide")]
    DEFAULT_CSS = """
    TrainScreen #train-body { height: 1fr; }
    TrainScreen.-wide.-no-panel LaunchPanel { display: none; }
    TrainScreen.-narrow LaunchPanel { display: none; }
    TrainScreen.-narrow.-panel-open LaunchPanel { display: block; width: 1fr; }
    TrainScreen.-narrow.-panel-open RunView { display: none; }
    TrainScreen.-narrow RunView #chart-grid { grid-size: 2; }
    TrainScreen.-narrow RunView GpuPanel { width: 40; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.planned: Planned | None = None
        self.timer: Timer | None = None
        self.attached = False

    def compose(self) -> ComposeResult:
        workspace = self.workbench.workspace
        configs = [(workspace.display(path), path) for path in workspace.configs()]
        yield Header()
        with Horizontal(id="train-body"):
            yield LaunchPanel(configs, id="launch")
            yield RunView(side=GpuPanel(self.workbench.sampler, id="gpu-panel"), id="run-view")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(LaunchPanel).select_config(self.workbench.config_path)
        self.set_interval(2.0, self._show_gpus)
        self.run_worker(self._attach_target, thread=True, description="Finding the workspace's runs")
        root = self.workbench.workspace.root
        self.run_worker(lambda: find_launch_configs(root), thread=True, description="Finding launch configs")

    def on_screen_resume(self) -> None:
        panel = self.query_one(LaunchPanel)
        if self.workbench.config_path is not None:
            panel.select_config(self.workbench.config_path)
        self.refresh_preview()

    @property
    def view(self) -> RunView:
        return self.query_one(RunView)

    # --- attaching -----------------------------------------------------------------------------------------

    def _attach_target(self) -> Path | None:
        runs = list_runs(self.workbench.workspace.runs_root)
        active = [info for info in runs if info.active]
        return (active or runs or [None])[0].path if (active or runs) else None

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        super().on_worker_state_changed(event)
        if event.state is not WorkerState.SUCCESS:
            return
        result = event.worker.result
        if event.worker.description == "Finding launch configs":
            self.query_one(LaunchPanel).offer_launch_configs(result)
        elif event.worker.description == "Finding the workspace's runs":
            if result is not None and not self.attached:
                self.watch_run(result)
        elif isinstance(result, Planned) and event.worker.group == "start":
            self._planned_for_start(result)
        elif isinstance(result, Planned):
            self._planned(result)
        elif isinstance(result, LaunchedRun):
            self._started(result)
        elif isinstance(result, StartFailure):
            self.notify(result.message, title="Cannot start the run", severity="error", timeout=10)

    def watch_run(self, run_dir: Path) -> None:
        """Follow the run in ``run_dir`` in the view (its processes marked in the GPU panel)."""
        self.attached = True
        self.view.follow(run_dir)

    def _show_gpus(self) -> None:
        sample = self.workbench.sampler.latest
        if sample is not None:
            self.query_one(LaunchPanel).show_gpus(sample)

    # --- preview -------------------------------------------------------------------------------------------

    def on_launch_panel_changed(self, _: LaunchPanel.Changed) -> None:
        if self.timer is not None:
            self.timer.stop()
        self.timer = self.set_timer(PREVIEW_DELAY_S, self.refresh_preview)

    def refresh_preview(self) -> None:
        options = self.query_one(LaunchPanel).options()
        if isinstance(options, str):
            self.planned = None
            self.query_one(LaunchPanel).show_preview(Content.styled(options, "$error"))
            return
        self.run_worker(lambda: plan(self, options), thread=True, exclusive=True, group="plan", description="Plan")

    def _planned(self, planned: Planned) -> None:
        self.planned = planned
        display = self.workbench.workspace.display
        unsaved = self.workbench.unsaved_work()
        if unsaved and display(planned.options.config_path) not in unsaved:
            unsaved = None
        self.query_one(LaunchPanel).show_preview(preview_content(planned, display, unsaved))

    # --- starting ------------------------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "launch-start":
            event.stop()
            self.action_start()

    def action_start(self) -> None:
        options = self.query_one(LaunchPanel).options()
        if isinstance(options, str):
            self.notify(options, severity="error")
            return
        self.run_worker(lambda: plan(self, options), thread=True, group="start", description="Checking the config")

    def _planned_for_start(self, planned: Planned) -> None:
        if planned.issues:
            self.notify(f"{planned.issues[0]}: ctrl+g opens it in Config", severity="error", timeout=8)
            return
        if planned.error or planned.preview is None:
            self.notify(planned.error or "cannot plan the run", severity="error")
            return
        preview = planned.preview
        existing = preview.existing
        if existing is not None and existing.active:
            self.notify(f"run {preview.run_dir.name} is {existing.state}: stop it first (ctrl+x)", severity="error")
            return
        if existing is None and not preview.occupied:
            self._launch(planned.options, "new")
            return
        self._ask_conflict(planned.options, preview)

    def _ask_conflict(self, options: LaunchOptions, preview: LaunchPreview) -> None:
        display = self.workbench.workspace.display
        other = next_free_dir(preview.run_dir)
        choices = [
            ("rename", f"[n] New run folder {display(other)}"),
            ("overwrite", "[o] Overwrite (delete it first)"),
        ]
        keys = {"n": "rename", "o": "overwrite"}
        if preview.existing is not None and newest_checkpoint(preview.run_dir) is not None:
            choices.insert(0, ("resume", "[r] Resume it from its newest checkpoint"))
            keys["r"] = "resume"
        state = preview.existing.state if preview.existing is not None else "files"
        message = f"{display(preview.run_dir)} already holds a run ({state})."

        def answered(answer: str | None) -> None:
            if answer == "rename":
                self.query_one(LaunchPanel).set_run_dir(display(other))
                self._launch(LaunchOptions(**{**options.__dict__, "run_dir": str(other)}), "new")
            elif answer == "resume":
                self._launch(options, "resume")
            elif answer == "overwrite":
                self.app.push_screen(
                    confirm("Overwrite?", f"Delete {preview.run_dir} and everything in it?", "Delete and start"),
                    lambda yes: self._launch(options, "overwrite") if yes == "yes" else None,
                )

        self.app.push_screen(ChooseScreen("The run folder is taken", message, choices, keys), answered)

    def _launch(self, options: LaunchOptions, mode: StartMode) -> None:
        workspace = self.workbench.workspace
        self.run_worker(
            lambda: start_safely(workspace, options, mode), thread=True, group="launch", description="Starting the run"
        )

    def _started(self, launched: LaunchedRun) -> None:
        self.notify(f"run {launched.run_dir.name} started (pid {launched.record.pid})")
        self.watch_run(launched.run_dir)

    # --- actions on the watched run ------------------------------------------------------------------------

    def _info(self) -> RunInfo | None:
        if self.view.run_dir is None:
            self.notify("no run is shown: start one (ctrl+r) or pick one (ctrl+o)", severity="warning")
            return None
        return open_run(self.view.run_dir)

    def action_stop(self) -> None:
        if (info := self._info()) is not None:
            ask_stop(self, info)

    def action_resume(self) -> None:
        if (info := self._info()) is not None:
            ask_resume(self, info)

    def action_chat(self) -> None:
        if (info := self._info()) is not None:
            show_next_steps(self, info)

    def action_open_run(self) -> None:
        runs = list_runs(self.workbench.workspace.runs_root)
        if not runs:
            self.notify("no runs in this workspace yet", severity="warning")
            return
        choices = [(str(info.path), f"{info.name}  ({state_name(info)})") for info in runs]
        self.app.push_screen(
            ChooseScreen("Watch which run?", "", choices),
            lambda answer: self.watch_run(Path(answer)) if answer else None,
        )

    def action_toggle_panel(self) -> None:
        """Hide or show the launch form; below NARROW_BELOW columns it takes the whole width while shown."""
        self.toggle_class("-panel-open" if self.has_class("-narrow") else "-no-panel")

    def action_fix_config(self) -> None:
        planned = self.planned
        if planned is None or not planned.issues:
            self.notify("the config has no problem to fix", severity="information")
            return
        key = planned.issues[0].key
        path = planned.options.config_path
        self.workbench.switch_mode("config")
        self.workbench.call_after_refresh(self._focus_in_config, key, path)

    def _focus_in_config(self, key: str, path: Path) -> None:
        from .config import ConfigScreen

        screen = self.workbench.screen
        if isinstance(screen, ConfigScreen):
            screen.focus_key(key, path)

    def action_smooth(self) -> None:
        self.notify(f"smoothing {self.view.cycle_smoothing():g}", timeout=2)

    def action_log_scale(self) -> None:
        self.notify("log scale" if self.view.toggle_log() else "linear scale", timeout=2)

    def action_leave_field(self) -> None:
        self.view.query_one("#run-events").focus()

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            PaletteCommand("Train: start run", "Start the chosen config as a run", self.action_start),
            PaletteCommand("Train: stop run", "The trainer saves a checkpoint and stops", self.action_stop),
            PaletteCommand("Train: resume run", "From the newest or a chosen checkpoint", self.action_resume),
            PaletteCommand("Train: watch another run", "Show another run of the workspace", self.action_open_run),
            PaletteCommand("Train: chat / export", "Commands for a finished run", self.action_chat),
            PaletteCommand("Train: toggle launch panel", "More room for the charts", self.action_toggle_panel),
        ]
