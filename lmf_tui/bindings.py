"""Every key binding of the app as data: a stable id, default keys, the action, and where it applies.

A user rebinds a key by its id in the settings file (``[keys]`` table) or ``LMF_TUI_KEYS``; the app hands those
overrides to textual's keymap, so the footer, the key list (``?``) and the command palette show the user's keys.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from textual.binding import Binding, BindingType

from lmf_engine.util.suggest import did_you_mean

SCOPES = (
    "app",
    "datasets",
    "template",
    "config",
    "train",
    "runs",
    "run",
    "compare",
    "predictions",
    "benchmark",
    "chat",
)
SCOPE_TITLES = {
    "app": "Everywhere",
    "datasets": "Datasets",
    "template": "Template",
    "config": "Config",
    "train": "Train",
    "runs": "Runs",
    "run": "A run",
    "compare": "Compare runs",
    "predictions": "Predictions",
    "benchmark": "Benchmark",
    "chat": "Chat",
}


@dataclass(frozen=True)
class KeySpec:
    """One binding. ``keys`` uses textual's key names, several separated by commas (``"f2,ctrl+r"``)."""

    id: str
    keys: str
    action: str
    description: str
    scope: str
    show: bool = True
    priority: bool = False

    def binding(self) -> Binding:
        return Binding(self.keys, self.action, self.description, show=self.show, priority=self.priority, id=self.id)


KEYS: tuple[KeySpec, ...] = (
    KeySpec("app.screen.datasets", "1", "app.switch_mode('datasets')", "Datasets", "app"),
    KeySpec("app.screen.template", "2", "app.switch_mode('template')", "Template", "app"),
    KeySpec("app.screen.config", "3", "app.switch_mode('config')", "Config", "app"),
    KeySpec("app.screen.train", "4", "app.switch_mode('train')", "Train", "app"),
    KeySpec("app.screen.runs", "5", "app.switch_mode('runs')", "Runs", "app"),
    KeySpec("app.screen.chat", "6", "app.switch_mode('chat')", "Chat", "app"),
    KeySpec("app.keys", "question_mark", "app.show_keys", "Keys", "app"),
    KeySpec("app.palette", "ctrl+p", "app.command_palette", "Commands", "app", priority=True),
    KeySpec("app.quit", "ctrl+q", "app.quit", "Quit", "app", show=False, priority=True),
    KeySpec("datasets.next_page", "right_square_bracket", "next_page", "Next", "datasets"),
    KeySpec("datasets.prev_page", "left_square_bracket", "prev_page", "Prev", "datasets"),
    KeySpec("datasets.goto_row", "g", "goto_row", "Row", "datasets"),
    KeySpec("datasets.search", "slash", "search", "Search", "datasets"),
    KeySpec("datasets.stats", "s", "stats", "Lengths", "datasets"),
    KeySpec("datasets.next_file", "f", "next_file", "Next file", "datasets", show=False),
    KeySpec("datasets.focus_list", "d", "focus_list", "Dataset list", "datasets", show=False),
    KeySpec("datasets.cancel", "escape", "cancel", "Clear", "datasets"),
    KeySpec("template.render", "ctrl+r", "render", "Render", "template", priority=True),
    KeySpec("template.ids", "ctrl+t", "toggle_ids", "Ids", "template", priority=True),
    KeySpec("template.source", "ctrl+e", "toggle_source", "Row/typed", "template", priority=True),
    KeySpec("template.fold", "ctrl+f", "toggle_fold", "Fold media", "template", priority=True),
    KeySpec("template.leave", "escape", "leave_field", "Leave field", "template", show=False),
    KeySpec("config.open", "ctrl+o", "open", "Open", "config", priority=True),
    KeySpec("config.save", "ctrl+s", "save", "Save", "config", priority=True),
    KeySpec("config.save_as", "f2", "save_as", "Save as", "config", priority=True),
    KeySpec("config.new", "ctrl+n", "new", "New", "config", priority=True),
    KeySpec("config.advanced", "ctrl+t", "toggle_advanced", "Advanced", "config", priority=True),
    KeySpec("config.panel", "ctrl+l", "next_panel", "Panel", "config", priority=True),
    KeySpec("config.leave", "escape", "leave_field", "Leave field", "config", show=False),
    KeySpec("train.start", "ctrl+r", "start", "Start", "train", priority=True),
    KeySpec("train.stop", "ctrl+x", "stop", "Stop", "train", priority=True),
    KeySpec("train.resume", "ctrl+e", "resume", "Resume", "train", priority=True),
    KeySpec("train.open", "ctrl+o", "open_run", "Watch run", "train", priority=True),
    KeySpec("train.panel", "ctrl+l", "toggle_panel", "Launch panel", "train", priority=True),
    KeySpec("train.fix", "ctrl+g", "fix_config", "Fix in Config", "train", priority=True),
    KeySpec("train.smooth", "s", "smooth", "Smoothing", "train"),
    KeySpec("train.log_scale", "l", "log_scale", "Log scale", "train"),
    KeySpec("train.chat", "c", "chat", "Chat/export", "train"),
    KeySpec("train.leave", "escape", "leave_field", "Leave field", "train", show=False),
    KeySpec("runs.open", "enter", "open_run", "Open", "runs"),
    KeySpec("runs.mark", "space", "mark", "Mark", "runs"),
    KeySpec("runs.compare", "c", "compare", "Compare", "runs"),
    KeySpec("runs.filter", "slash", "filter", "Filter", "runs"),
    KeySpec("runs.sort", "o", "sort", "Sort", "runs"),
    KeySpec("runs.reverse", "O", "reverse_sort", "Reverse", "runs", show=False),
    KeySpec("runs.stop", "x", "stop", "Stop", "runs"),
    KeySpec("runs.resume", "r", "resume", "Resume", "runs"),
    KeySpec("runs.delete", "delete", "delete", "Delete", "runs"),
    KeySpec("runs.add", "a", "add_folder", "Add folder", "runs"),
    KeySpec("runs.evaluate", "e", "evaluate", "Predictions", "runs"),
    KeySpec("runs.benchmark", "b", "benchmark", "Benchmark", "runs"),
    KeySpec("runs.clear", "escape", "clear", "Clear", "runs", show=False),
    KeySpec("run.back", "escape", "back", "Back", "run"),
    KeySpec("run.smooth", "s", "smooth", "Smoothing", "run"),
    KeySpec("run.log_scale", "l", "log_scale", "Log scale", "run"),
    KeySpec("run.stop", "x", "stop", "Stop", "run"),
    KeySpec("run.resume", "r", "resume", "Resume", "run"),
    KeySpec("run.chat", "c", "chat", "Chat/export", "run"),
    KeySpec("compare.back", "escape", "back", "Back", "compare"),
    KeySpec("compare.metric", "m", "next_metric", "Metric", "compare"),
    KeySpec("compare.axis", "t", "toggle_axis", "Step/tokens", "compare"),
    KeySpec("compare.smooth", "s", "smooth", "Smoothing", "compare"),
    KeySpec("compare.log_scale", "l", "log_scale", "Log scale", "compare"),
    KeySpec("predictions.back", "escape", "back", "Back", "predictions"),
    KeySpec("predictions.sort", "o", "sort", "Sort", "predictions"),
    KeySpec("predictions.score", "m", "next_score", "Score", "predictions"),
    KeySpec("predictions.filter", "slash", "filter", "Search", "predictions"),
    KeySpec("benchmark.back", "escape", "back", "Back", "benchmark"),
    KeySpec("chat.stop", "escape", "stop", "Stop answer", "chat", priority=True),
    KeySpec("chat.target", "ctrl+o", "target", "Model", "chat", priority=True),
    KeySpec("chat.ab", "ctrl+b", "ab", "A/B", "chat", priority=True),
    KeySpec("chat.regenerate", "ctrl+r", "regenerate", "Regenerate", "chat", priority=True),
    KeySpec("chat.edit", "ctrl+e", "edit", "Edit msg", "chat", priority=True),
    KeySpec("chat.tool_result", "ctrl+t", "tool_result", "Tool result", "chat", priority=True),
    KeySpec("chat.settings", "ctrl+g", "settings", "Settings", "chat", priority=True),
    KeySpec("chat.tokens", "ctrl+w", "prompt_tokens", "Prompt tokens", "chat", priority=True),
    KeySpec("chat.thinking", "ctrl+k", "thinking", "Thinking", "chat", priority=True),
    KeySpec("chat.copy", "ctrl+y", "copy", "Copy", "chat", priority=True),
    KeySpec("chat.save", "ctrl+s", "save", "Save", "chat", priority=True),
    KeySpec("chat.load", "ctrl+l", "load", "Load", "chat", priority=True),
    KeySpec("chat.new", "ctrl+n", "new", "New chat", "chat", priority=True, show=False),
    KeySpec("chat.picture", "ctrl+u", "picture", "Picture", "chat", priority=True),
)

KEY_IDS: dict[str, KeySpec] = {spec.id: spec for spec in KEYS}


def bindings_for(scope: str) -> list[BindingType]:
    """The textual bindings of one scope (``app`` or a screen's name)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown binding scope {scope!r}")
    return [spec.binding() for spec in KEYS if spec.scope == scope]


def check_keymap(keymap: Mapping[str, object], where: str) -> dict[str, str]:
    """Validate user overrides (binding id -> keys); the error names ``where``, the id and what is allowed."""
    checked: dict[str, str] = {}
    for binding_id, keys in keymap.items():
        if binding_id not in KEY_IDS:
            close = did_you_mean(binding_id, KEY_IDS)
            hint = f"; did you mean {' or '.join(close)}?" if close else "; `?` in the app lists every id"
            raise ValueError(f"{where}: {binding_id!r} is not a binding id{hint}")
        if not isinstance(keys, str) or not [k for k in keys.split(",") if k.strip()]:
            raise ValueError(f'{where}: {binding_id}: keys must be a non-empty text such as "ctrl+s" or "f5,s"')
        checked[binding_id] = ",".join(k.strip() for k in keys.split(",") if k.strip())
    return checked


def effective_keys(spec: KeySpec, keymap: Mapping[str, str]) -> str:
    """The keys a binding has once the user's overrides apply."""
    return keymap.get(spec.id, spec.keys)
