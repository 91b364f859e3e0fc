"""The chat's side panel: system prompt, generation settings checked as the config checks them, and tools JSON.

A setting left at the model's value is not sent (the model's config decides); a changed one is checked with the
config schema's type and range, its problem shown under the panel, and a message is not sent while one is wrong.
"""

import json
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Button, Input, Label, Static, TextArea

from lmf_engine.chat.errors import ChatError
from lmf_engine.chat.settings import STOP, check_setting
from lmf_engine.config.groups import field_index

from .field_help import help_content

SETTING_KEYS = ("temperature", "top_p", "top_k", "max_new_tokens", "repetition_penalty", "seed", "stop")
STOP_HELP = "Strings that end the answer (not included in it), comma-separated; at most 4."
TOOLS_HELP = (
    "Tools the model may call: a JSON list of function schemas ({name, description, parameters}), as in the "
    "`tools` column of a dataset. Its calls are shown as calls; answer one with ctrl+t (a `tool` message)."
)


class SettingProblem(ValueError):
    """A setting of the panel that cannot be used; ``key`` names it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def shown_value(value: Any) -> str:
    """A setting as the panel shows it (stop strings comma-separated, None as empty)."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def parse_setting(key: str, text: str) -> Any:
    """The checked value of a field's text (:class:`SettingProblem` naming the key when it does not fit)."""
    try:
        if key == STOP:
            return check_setting(key, [part for part in text.split(",") if part] or None)
        return check_setting(key, text.strip() or None)
    except ChatError as exc:
        raise SettingProblem(key, str(exc)) from None


def tools_problem(text: str) -> str | None:
    """Why a tools JSON text cannot be used, or None."""
    if not text.strip():
        return None
    try:
        tools = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"tools: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
    items = tools if isinstance(tools, list) else [tools]
    for i, item in enumerate(items):
        schema = item.get("function", item) if isinstance(item, dict) else None
        if not isinstance(schema, dict) or not isinstance(schema.get("name"), str):
            return f"tools[{i}]: each tool needs a `name` (a function schema: name, description, parameters)"
    return None


class ChatSettings(VerticalScroll):
    """System prompt, settings and tools; :meth:`values` gives what to send with the next message."""

    DEFAULT_CSS = """
    ChatSettings { width: 44; height: 1fr; border: round $secondary 50%; padding: 0 1; background: $surface; }
    ChatSettings:focus-within { border: round $secondary; }
    ChatSettings Label { color: $text-muted; margin-top: 1; }
    ChatSettings Input { height: 3; }
    ChatSettings Input.-changed { border: tall $accent; }
    ChatSettings Input.-invalid { border: tall $error; }
    ChatSettings TextArea { height: 5; }
    ChatSettings #tools { height: 7; }
    ChatSettings TextArea.-invalid { border: tall $error; }
    ChatSettings #setting-help { height: auto; margin-top: 1; }
    ChatSettings Button { width: 100%; margin-top: 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.border_title = "System, settings, tools"
        self.defaults: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        yield Label("system prompt")
        yield TextArea("", id="system", soft_wrap=True)
        for key in SETTING_KEYS:
            yield Label(key)
            yield Input("", id=f"set-{key}", placeholder="not set", compact=True)
        yield Button("Reset to the model's defaults", id="reset", compact=True)
        yield Label("tools (JSON)")
        yield TextArea("", id="tools", language="json", soft_wrap=True)
        yield Static("", id="setting-help")

    def _input(self, key: str) -> Input:
        return self.query_one(f"#set-{key}", Input)

    def set_defaults(self, defaults: dict[str, Any]) -> None:
        """The model's own settings: fields still at the old defaults take the new ones."""
        old, self.defaults = self.defaults, dict(defaults)
        for key in SETTING_KEYS:
            field = self._input(key)
            if not field.value or field.value == shown_value(old.get(key)):
                field.value = shown_value(defaults.get(key))
            self._check(key)

    def reset(self) -> None:
        """Every setting back to the model's value (system prompt and tools stay)."""
        for key in SETTING_KEYS:
            self._input(key).value = shown_value(self.defaults.get(key))
            self._check(key)

    def apply(self, settings: dict[str, Any], system: str | None, tools: str | None) -> None:
        """Show a loaded conversation's settings, system prompt and tools."""
        self.reset()
        for key, value in settings.items():
            if key in SETTING_KEYS:
                self._input(key).value = shown_value(value)
                self._check(key)
        self.query_one("#system", TextArea).text = system or ""
        self.query_one("#tools", TextArea).text = tools or ""

    def overrides(self) -> dict[str, Any]:
        """The settings changed from the model's (checked; an emptied field keeps the model's value);
        :class:`SettingProblem` for the first wrong one."""
        out = {}
        for key in SETTING_KEYS:
            text = self._input(key).value
            if not text.strip() or text == shown_value(self.defaults.get(key)):
                continue
            out[key] = parse_setting(key, text)
        return out

    def system(self) -> str | None:
        return self.query_one("#system", TextArea).text.strip() or None

    def tools(self) -> str | None:
        """The tools JSON text, or None; :class:`SettingProblem` when it is not a list of function schemas."""
        text = self.query_one("#tools", TextArea).text
        problem = tools_problem(text)
        if problem:
            raise SettingProblem("tools", problem)
        return text.strip() or None

    def _check(self, key: str) -> str | None:
        field = self._input(key)
        problem = None
        if field.value.strip() and field.value != shown_value(self.defaults.get(key)):
            try:
                parse_setting(key, field.value)
            except SettingProblem as exc:
                problem = str(exc)
        field.set_class(problem is not None, "-invalid")
        changed = bool(field.value.strip()) and field.value != shown_value(self.defaults.get(key))
        field.set_class(problem is None and changed, "-changed")
        return problem

    def _show_help(self, key: str, problem: str | None) -> None:
        help_widget = self.query_one("#setting-help", Static)
        if key == STOP:
            parts = [Content.styled(key, "bold $primary"), Content(f"\n{STOP_HELP}")]
            if problem:
                parts.append(Content.styled(f"\n\n{problem}", "$error"))
            help_widget.update(Content("").join(parts))
        else:
            help_widget.update(help_content(field_index().get(key), key, problem))

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        key = (event.input.id or "").removeprefix("set-")
        if key in SETTING_KEYS:
            self._show_help(key, self._check(key))

    @on(TextArea.Changed, "#tools")
    def _tools_changed(self, event: TextArea.Changed) -> None:
        problem = tools_problem(event.text_area.text)
        event.text_area.set_class(problem is not None, "-invalid")
        shown = Content.assemble(("tools", "bold $primary"), f"\n{TOOLS_HELP}")
        if problem:
            shown = shown + Content.styled(f"\n\n{problem}", "$error")
        self.query_one("#setting-help", Static).update(shown)

    def on_descendant_focus(self, event: Any) -> None:
        key = (getattr(event.widget, "id", "") or "").removeprefix("set-")
        if key in SETTING_KEYS:
            self._show_help(key, self._check(key))

    @on(Button.Pressed, "#reset")
    def _reset_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.reset()
        self.notify("settings reset to the model's defaults", timeout=3)
