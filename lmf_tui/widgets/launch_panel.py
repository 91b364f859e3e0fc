"""The launch form of the train screen: config, run folder, processes, GPUs, accelerate/DeepSpeed config, and the
exact command that starting would run."""

from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Input, Label, Select, SelectionList, Static

from lmf_engine.monitor.samples import SystemSample

from ..launch import LaunchConfigFile, LaunchOptions

AUTO = "auto"


class LaunchPanel(VerticalScroll):
    """Posts :class:`LaunchPanel.Changed` whenever an option changes; :meth:`options` reads them."""

    DEFAULT_CSS = """
    LaunchPanel { width: 46; border: round $primary 50%; padding: 0 1; }
    LaunchPanel:focus-within { border: round $primary; }
    LaunchPanel Label { color: $text-muted; margin-top: 1; }
    LaunchPanel SelectionList { height: auto; max-height: 6; }
    LaunchPanel #launch-no-gpu { color: $text-muted; }
    LaunchPanel #launch-preview { margin-top: 1; }
    LaunchPanel Button { margin-top: 1; width: 100%; }
    """

    class Changed(Message):
        """An option changed."""

    def __init__(self, configs: list[tuple[str, Path]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_title = "Launch"
        self.configs = configs
        self.launch_configs: list[LaunchConfigFile] = []
        self.gpu_indices: tuple[int, ...] = ()
        self.gpus_shown = False

    def compose(self) -> ComposeResult:
        yield Label("Config")
        configs = [(Content(label), str(path)) for label, path in self.configs]  # file names: never markup
        yield Select(configs, allow_blank=True, id="launch-config")
        yield Label("Run folder (output_dir)")
        yield Input(placeholder="from the config", id="launch-dir")
        yield Label("Processes")
        yield Input(placeholder="auto: one per chosen GPU", id="launch-processes", type="integer")
        yield Label("GPUs")
        yield SelectionList[int](id="launch-gpus")
        yield Static("reading GPUs…", id="launch-no-gpu", markup=False)
        yield Label("Accelerate / DeepSpeed / FSDP config")
        yield Select([], prompt="none (one process, or plain multi-GPU)", id="launch-accelerate")
        yield Static("", id="launch-preview")
        yield Button("Start run (ctrl+r)", variant="primary", id="launch-start")

    def on_mount(self) -> None:
        self.query_one(SelectionList).display = False

    def offer_launch_configs(self, found: list[LaunchConfigFile]) -> None:
        """The accelerate / DeepSpeed / FSDP configs found in the workspace (read in a worker)."""
        self.launch_configs = found
        choices = [(Content(f"{c.kind}: {c.path.name}"), str(c.path)) for c in found]
        self.query_one("#launch-accelerate", Select).set_options(choices)

    def select_config(self, path: Path | None) -> None:
        """Choose ``path`` in the config list (added when it is not a workspace config)."""
        if path is None:
            return
        select = self.query_one("#launch-config", Select)
        if all(existing != path for _, existing in self.configs):
            self.configs.append((path.name, path))
            select.set_options([(Content(label), str(p)) for label, p in self.configs])
        select.value = str(path)

    def show_gpus(self, sample: SystemSample) -> None:
        """Offer the sampler's GPUs (all chosen at first); say why there are none."""
        indices = tuple(gpu.index for gpu in sample.gpus)
        if indices == self.gpu_indices and self.gpus_shown:
            return
        self.gpu_indices = indices
        self.gpus_shown = True
        selection = self.query_one(SelectionList)
        note = self.query_one("#launch-no-gpu", Static)
        if not indices:
            selection.display = False
            note.display = True
            note.update(f"none: {sample.gpu_error or 'no NVIDIA GPU'}; the run uses the CPU")
            return
        selection.clear_options()
        for gpu in sample.gpus:
            memory = f"{gpu.mem_total_mb / 1024:.0f} GiB" if gpu.mem_total_mb else ""
            selection.add_option((Content(f"{gpu.index}: {gpu.name} {memory}"), gpu.index, True))
        selection.display = True
        note.display = False

    def options(self) -> LaunchOptions | str:
        """The options, or a message saying which one is wrong."""
        config = self.query_one("#launch-config", Select).value
        if not isinstance(config, str):
            return "choose a config"
        processes_text = self.query_one("#launch-processes", Input).value.strip()
        processes = None
        if processes_text and processes_text != AUTO:
            if not processes_text.isdigit() or int(processes_text) < 1:
                return f"processes: {processes_text!r} is not a whole number of at least 1"
            processes = int(processes_text)
        gpus = None
        if self.gpu_indices:
            chosen = tuple(sorted(self.query_one(SelectionList).selected))
            if not chosen:
                return "GPUs: choose at least one"
            gpus = None if chosen == self.gpu_indices else chosen
        accelerate = self.query_one("#launch-accelerate", Select).value
        launch_config = next((c for c in self.launch_configs if str(c.path) == accelerate), None)
        run_dir = self.query_one("#launch-dir", Input).value.strip() or None
        return LaunchOptions(Path(config), run_dir, processes, gpus, launch_config)

    def show_preview(self, content: Content) -> None:
        self.query_one("#launch-preview", Static).update(content)

    def set_run_dir(self, text: str) -> None:
        self.query_one("#launch-dir", Input).value = text

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Changed())

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self.post_message(self.Changed())

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged) -> None:
        event.stop()
        self.post_message(self.Changed())
