"""Screen 2: one sample through a template and the config's tokenizer, token by token, with the trap report."""

import json
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Label, Select, Static, TextArea
from textual.worker import Worker

from lmf_engine.data.errors import DataError
from lmf_engine.data.inspect import STAGES, RenderedSample
from lmf_engine.data.media_paths import MEDIA_KINDS, SINGULAR
from lmf_engine.data.registry import read_dataset_info, split_names
from lmf_engine.data.samples import SAMPLE_MESSAGES, SampleError, as_example, dataset_example
from lmf_engine.data.templates import HF_TEMPLATE, template_names
from lmf_engine.data.traps import Trap, detect_traps

from ..bindings import KEY_IDS, bindings_for, effective_keys
from ..dataset_entries import KIND_STAGE, dataset_kind
from ..palette import PaletteCommand
from ..widgets.token_text import TokenText
from ..widgets.token_view import TokenPane
from ..widgets.trap_report import TrapReport
from ..workers import setup_for
from .base import WorkbenchScreen
from .train import NARROW_BELOW

RENDER_DELAY_S = 0.3
ROLE_PREFIXES = ("system", "user", "assistant", "function", "tool", "observation")


def parse_typed(text: str) -> Any:
    """Typed messages: JSON (a message list or a sample object), or ``role: content`` lines.

    A line that starts with a role and a colon begins a message; other lines continue the one before.
    """
    if text.lstrip()[:1] in ("[", "{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise SampleError(f"typed messages: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    messages: list[dict[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        role, sep, content = line.partition(":")
        if sep and role.strip().lower() in ROLE_PREFIXES:
            messages.append({"role": role.strip().lower(), "content": content.strip()})
        elif messages:
            messages[-1]["content"] += "\n" + line
        elif line.strip():
            raise SampleError(f"typed messages, line {number}: start with a role, e.g. 'user: hello'")
    return messages


def typed_default() -> str:
    return "\n".join(f"{m['role']}: {m['content']}" for m in SAMPLE_MESSAGES)


class TemplateScreen(WorkbenchScreen):
    """Below NARROW_BELOW columns the controls take two lines and the trap report goes under the tokens."""

    BINDINGS = bindings_for("template")
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (NARROW_BELOW, "-wide")]
    DEFAULT_CSS = """
    TemplateScreen #controls { height: auto; padding: 0 1; }
    TemplateScreen #controls Label { padding: 0 1; color: $text-muted; }
    TemplateScreen #tpl-dataset { width: 24; }
    TemplateScreen #tpl-row { width: 10; }
    TemplateScreen #tpl-template { width: 26; }
    TemplateScreen #tpl-stage { width: 12; }
    TemplateScreen #tpl-info { height: auto; padding: 0 1; color: $text-muted; }
    TemplateScreen #tpl-typed { height: 10; display: none; border: round $primary 50%; }
    TemplateScreen.-typed #tpl-typed { display: block; }
    TemplateScreen.-typed #tpl-dataset, TemplateScreen.-typed #tpl-row, TemplateScreen.-typed .row-label {
        display: none;
    }
    TemplateScreen #tpl-body { height: 1fr; }
    TemplateScreen.-narrow #controls { layout: grid; grid-size: 4; grid-columns: auto 1fr auto 16; grid-rows: 1; }
    TemplateScreen.-narrow #controls Select, TemplateScreen.-narrow #controls Input { width: 1fr; }
    TemplateScreen.-narrow #tpl-typed { height: 7; }
    TemplateScreen.-narrow #tpl-body { layout: vertical; }
    TemplateScreen.-narrow TrapReport { width: 1fr; height: auto; max-height: 8; }
    """

    class Rendered(Message):
        def __init__(self, rendered: RenderedSample, traps: list[Trap], info: str) -> None:
            super().__init__()
            self.rendered, self.traps, self.info = rendered, traps, info

    class Unusable(Message):
        """The sample cannot be shown (a bad message list, a row the stage cannot use): said in place."""

        def __init__(self, reason: str) -> None:
            super().__init__()
            self.reason = reason

    def __init__(self) -> None:
        super().__init__()
        self.show_ids = False
        self.timer: Timer | None = None
        self.last: TemplateScreen.Rendered | None = None
        self.kinds: dict[str, str] = {}
        self.seen_config: Path | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="controls"):
            yield Label("dataset", classes="row-label")
            yield Select[str]([], prompt="(none)", compact=True, id="tpl-dataset")
            yield Label("row", classes="row-label")
            yield Input("1", id="tpl-row", restrict=r"\d*", compact=True)
            yield Label("template")
            names = [(f"{HF_TEMPLATE} (tokenizer's jinja)", HF_TEMPLATE)] + [(n, n) for n in template_names()]
            yield Select[str](names, prompt="(config's)", compact=True, id="tpl-template")
            yield Label("stage")
            yield Select[str]([(s, s) for s in STAGES], allow_blank=False, value="sft", compact=True, id="tpl-stage")
        yield Static("", id="tpl-info", markup=False)
        yield TextArea(typed_default(), id="tpl-typed")
        with Horizontal(id="tpl-body"):
            yield TokenPane(id="tokens")
            yield TrapReport(id="traps")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.fill_datasets()

    def on_screen_resume(self) -> None:
        """Another config may have been opened meanwhile: its datasets, tokenizer and template apply."""
        if self.seen_config != self.workbench.config_path:
            self.fill_datasets()

    def fill_datasets(self) -> None:
        """The local datasets of the config's dataset_dir, the config's own dataset selected (else the first);
        typed messages when there are none."""
        self.seen_config = self.workbench.config_path
        config = self.workbench.workspace.config_or_none(self.workbench.config_path)
        dataset_dir = self.workbench.workspace.dataset_dir(config)
        options: list[tuple[str, str]] = []
        try:
            info = read_dataset_info(dataset_dir)
            for name in info.names():
                try:
                    spec = info.spec(name)
                except DataError:
                    continue
                if spec.load_from == "file":
                    self.kinds[name] = dataset_kind(spec)
                    options.append((name, name))
        except DataError:
            self.add_class("-typed")
        select = self.query_one("#tpl-dataset", Select)
        select.set_options(options)
        if options:
            names = [name for _, name in options]
            own = [name for name in split_names(config.data.dataset if config else None) if name in names]
            select.value = (own or names)[0]
        else:
            self.add_class("-typed")
        self.schedule_render()

    # --- rendering -----------------------------------------------------------------------------------------

    def schedule_render(self) -> None:
        if self.timer is not None:
            self.timer.stop()
        self.timer = self.set_timer(RENDER_DELAY_S, self.action_render)

    def _sample(self) -> tuple[Any, str]:
        """What to render and how to describe it: a dataset row, or the typed messages."""
        if self.has_class("-typed"):
            return parse_typed(self.query_one("#tpl-typed", TextArea).text), "typed messages"
        name = self.query_one("#tpl-dataset", Select).value
        row_text = self.query_one("#tpl-row", Input).value or "1"
        if not isinstance(name, str):
            raise SampleError("choose a dataset, or type messages (ctrl+e)")
        row = max(1, int(row_text))
        return (name, row - 1), f"{name} row {row}"

    def action_render(self) -> None:
        config_path = self.workbench.config_path
        tokens = self.query_one(TokenPane)
        if config_path is None:
            tokens.show_message("No config: open one in the Config screen (3); its model gives the tokenizer.")
            return
        try:
            sample, what = self._sample()
        except SampleError as exc:
            tokens.show_message(str(exc))
            return
        template = self.query_one("#tpl-template", Select).value
        stage = self.query_one("#tpl-stage", Select).value
        tokens.loading = True
        self.render_sample(config_path, template if isinstance(template, str) else None, str(stage), sample, what)

    @work(thread=True, exclusive=True, exit_on_error=False, group="render", description="Rendering the sample")
    def render_sample(self, config_path: Path, template: str | None, stage: str, sample: Any, what: str) -> None:
        from lmf_engine.data.inspect import render_sample

        workspace = self.workbench.workspace
        config = workspace.load_config(config_path, {"template": template} if template else None)
        setup = setup_for(config, config_path)
        try:
            if isinstance(sample, tuple):
                example = dataset_example(workspace.dataset_dir(config), *sample, workspace.media_dir(config))
            else:
                example = as_example(sample)
            rendered = render_sample(setup.template, setup.tokenizer, example, setup.options, stage)
        except SampleError as exc:
            self.post_message(self.Unusable(str(exc)))
            return
        traps = detect_traps(setup.template, setup.tokenizer, rendered, chat_template=setup.model_chat_template)
        model = workspace.display(Path(config.model.model_name_or_path or ""))
        media = "".join(
            f" · {len(paths)} {SINGULAR[kind] if len(paths) == 1 else kind}"
            for kind in MEDIA_KINDS
            if (paths := getattr(example, kind))
        )
        info = (
            f"{what}{media} · template {setup.template.name} · stage {stage} · tokenizer {model} "
            f"(from {workspace.display(config_path)}) · cutoff_len {config.data.cutoff_len}"
        )
        self.post_message(self.Rendered(rendered, traps, info))

    def on_template_screen_rendered(self, message: Rendered) -> None:
        self.last = message
        self._show()

    def on_template_screen_unusable(self, message: Unusable) -> None:
        self.last = None
        self.query_one(TokenPane).loading = False
        self.query_one(TokenPane).show_message(message.reason)
        self.query_one(TrapReport).show_message("")
        self.query_one("#tpl-info", Static).update("")
        self.refresh_bindings()

    def _show(self, keep_folds: bool = False) -> None:
        tokens = self.query_one(TokenPane)
        tokens.loading = False
        if self.last is None:
            return
        flagged: dict[str, set[int]] = {}
        for trap in self.last.traps:
            name = trap.sequence or self.last.rendered.main.name
            flagged.setdefault(name, set()).update(trap.positions)
        tokens.show(self.last.rendered, self.show_ids, flagged, self._fold_hint(), keep_folds)
        self.query_one(TrapReport).show(self.last.traps)
        self.query_one("#tpl-info", Static).update(self.last.info)
        self.refresh_bindings()

    def _fold_hint(self) -> str:
        """How to unfold media runs, with the user's key for it."""
        keys = effective_keys(KEY_IDS["template.fold"], self.workbench.settings.keys).split(",")
        return f" (click a run, or {self.app.get_key_display(Binding(keys[0], ''))} for all)"

    def job_failed(self, worker: Worker) -> None:
        self.query_one(TokenPane).loading = False
        self.query_one(TokenPane).show_message(f"Cannot render: {worker.error}")
        self.query_one(TrapReport).show_message("")
        self.last = None
        self.refresh_bindings()

    # --- controls ------------------------------------------------------------------------------------------

    @on(Select.Changed, "#tpl-dataset")
    def _dataset_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value in self.kinds:
            self.query_one("#tpl-stage", Select).value = KIND_STAGE[self.kinds[event.value]]
        self.schedule_render()

    @on(Select.Changed, "#tpl-template")
    @on(Select.Changed, "#tpl-stage")
    @on(Input.Changed, "#tpl-row")
    @on(TextArea.Changed, "#tpl-typed")
    def _control_changed(self) -> None:
        self.schedule_render()

    def action_toggle_ids(self) -> None:
        self.show_ids = not self.show_ids
        self._show(keep_folds=True)

    def action_toggle_fold(self) -> None:
        """Unfold every run of media tokens (an image's ``<|image_pad|>`` …), or fold them all again."""
        self.query_one(TokenPane).text.toggle_all()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The fold key is offered (and shown in the footer) only when the sample has media runs."""
        if action == "toggle_fold":
            texts = self.query(TokenText)
            return bool(texts) and bool(texts.first().runs)
        return True

    def action_toggle_source(self) -> None:
        self.toggle_class("-typed")
        if self.has_class("-typed"):
            self.query_one("#tpl-typed", TextArea).focus()
        self.schedule_render()

    def action_leave_field(self) -> None:
        self.query_one(TokenPane).focus()

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            PaletteCommand("Template: render again", "Render the sample now", self.action_render),
            PaletteCommand("Template: toggle token ids", "Show each token's id", self.action_toggle_ids),
            PaletteCommand("Template: dataset row or typed messages", "Switch the sample", self.action_toggle_source),
            PaletteCommand(
                "Template: fold or unfold media tokens", "Each image's tokens as one mark", self.action_toggle_fold
            ),
        ]
