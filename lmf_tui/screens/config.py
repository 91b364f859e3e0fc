"""Screen 3: a config as a form built from the engine's field metadata, validated live, previewed and diffed."""

from functools import partial
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.events import DescendantFocus
from textual.timer import Timer
from textual.widgets import Footer, Header, OptionList, Static, TabbedContent, TabPane

from lmf_engine.config import ConfigIssue

from ..bindings import bindings_for
from ..config_document import ConfigDocument, ConfigDocumentError, recovered, recovery_path, write_recovery
from ..palette import PaletteCommand
from ..widgets.config_form import ConfigForm
from ..widgets.field_help import FieldHelp
from ..widgets.field_row import FieldRow
from .ask import AskScreen
from .base import WorkbenchScreen
from .choose import ChooseScreen
from .train import NARROW_BELOW

PANELS = ("issues", "yaml", "diff")
CHECK_DELAY_S = 0.15
FORM_SOURCE = "<form>"
MISSING = object()


def issue_text(issue: ConfigIssue) -> str:
    """The engine's message for an issue (key, value, what is allowed), without the form's ``<form>`` source."""
    text = str(issue)
    for prefix in (f"{FORM_SOURCE}: ", "<config>: "):
        text = text.removeprefix(prefix)
    return text


def diff_content(diff: str) -> Content:
    if not diff:
        return Content.styled("No changes: saving would write the file as it is on disk.", "$text-muted")
    styles = {"+": "$success", "-": "$error", "@": "$accent"}
    lines = [Content.styled(line, styles.get(line[:1], "$foreground")) for line in diff.splitlines()]
    return Content("\n").join(lines)


class ConfigScreen(WorkbenchScreen):
    """Below NARROW_BELOW columns the help and the issues/YAML/diff tabs leave the form the whole width: they show
    under the form, side by side, while ctrl+l (next panel) has opened them."""

    BINDINGS = bindings_for("config")
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (NARROW_BELOW, "-wide")]
    DEFAULT_CSS = """
    ConfigScreen #doc-title { height: 1; padding: 0 1; color: $text-muted; }
    ConfigScreen #doc-title.-problems { color: $warning; }
    ConfigScreen #config-body { height: 1fr; }
    ConfigScreen #side { width: 44; }
    ConfigScreen.-narrow #config-body { layout: vertical; }
    ConfigScreen.-narrow #side { display: none; width: 1fr; height: 11; layout: horizontal; }
    ConfigScreen.-narrow.-side-open #side { display: block; }
    ConfigScreen.-narrow FieldHelp { width: 1fr; height: 1fr; min-height: 0; }
    ConfigScreen.-narrow TabbedContent { width: 1fr; }
    ConfigScreen TabbedContent { height: 1fr; }
    ConfigScreen #issues-text.-ok { color: $success; }
    ConfigScreen #issues-text { color: $error; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.doc = ConfigDocument()
        self.issues: dict[str, str] = {}
        self.timer: Timer | None = None
        self.discard_armed = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="doc-title", markup=False)
        with Horizontal(id="config-body"):
            yield ConfigForm(id="form")
            with Vertical(id="side"):
                yield FieldHelp(id="help")
                with TabbedContent(initial="issues"):
                    with TabPane("Issues", id="issues"), VerticalScroll():
                        yield Static("", id="issues-text", markup=False)
                    with TabPane("YAML", id="yaml"), VerticalScroll():
                        yield Static("", id="yaml-text", markup=False)
                    with TabPane("Diff", id="diff"), VerticalScroll():
                        yield Static("", id="diff-text")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.workbench.unsaved_work = self.unsaved_work
        self.workbench.recover_work = self.write_recovery
        self.configs_dir = self.workbench.workspace.root / "configs"
        path = self.workbench.config_path
        if path is not None and path.is_file():
            self.open_path(path)
        else:
            self.load(ConfigDocument())
            self._offer_recovery(None)

    # --- documents -----------------------------------------------------------------------------------------

    def load(self, doc: ConfigDocument) -> None:
        self.doc = doc
        self.discard_armed = False
        self.issues = self._check()
        self.query_one(ConfigForm).load(doc.values, self.issues)
        self.refresh_views()

    def open_path(self, path: Path, example: bool = False) -> None:
        try:
            doc = ConfigDocument.from_example(path) if example else ConfigDocument.open(path)
        except ConfigDocumentError as exc:
            self.workbench.show_error("Opening a config", str(exc))
            return
        self.load(doc)
        if not example:
            self.workbench.set_config(path)
            self._offer_recovery(path)

    def write_recovery(self) -> Path | None:
        """Keep the unsaved edits in a hidden copy beside the file (called after a crash: no app is running)."""
        if not self.doc.values or not self.doc.is_dirty():
            return None
        return write_recovery(self.doc, self.configs_dir)

    def _offer_recovery(self, path: Path | None) -> None:
        """Offer the edits kept after a crash, when there are some for ``path`` (None: a new config)."""
        doc = recovered(path, self.configs_dir)
        if doc is None:
            return
        copy = recovery_path(path, self.configs_dir)
        name = self.workbench.workspace.display(path) if path else "a new config"
        choices = [
            ("restore", "[r] Restore them (unsaved until ctrl+s)"),
            ("discard", "[d] Discard them (deletes the copy)"),
            ("later", "[l] Not now (the copy stays)"),
        ]
        title = f"Unsaved edits of {name} were kept when the app stopped"

        def answered(answer: str | None) -> None:
            if answer == "restore":
                self.load(doc)
            elif answer == "discard":
                copy.unlink(missing_ok=True)

        message = f"{self.workbench.workspace.display(copy)}\n\n{doc.diff(name=name)}"
        screen = ChooseScreen(title, message, choices, keys={"r": "restore", "d": "discard", "l": "later"})
        self.app.push_screen(screen, answered)

    def _check(self) -> dict[str, str]:
        _, issues = self.doc.check()
        found: dict[str, str] = {}
        for issue in issues:
            found.setdefault(issue.key, issue_text(issue))
        return found

    def refresh_views(self) -> None:
        """Validate, then update the issue marks, the issue list, the YAML preview, the diff and the title."""
        self.issues = self._check()
        self.query_one(ConfigForm).show_issues(self.issues)
        text = self.query_one("#issues-text", Static)
        if self.issues:
            text.update("\n".join(self.issues.values()))
        else:
            text.update("No problems: the engine accepts this config.")
        text.set_class(not self.issues, "-ok")
        rendered = self.doc.yaml_text()
        self.query_one("#yaml-text", Static).update(rendered)
        name = self.workbench.workspace.display(self.doc.path) if self.doc.path else None
        self.query_one("#diff-text", Static).update(diff_content(self.doc.diff(rendered, name)))
        self._show_title(self.doc.is_dirty(rendered))

    def _show_title(self, dirty: bool) -> None:
        workspace = self.workbench.workspace
        if self.doc.path is not None:
            name = workspace.display(self.doc.path)
        elif self.doc.origin:
            name = f"new config from {workspace.display(Path(self.doc.origin))} (not saved)"
        else:
            name = "new config (not saved)"
        parts = [name, "modified" if dirty and self.doc.path else "saved" if self.doc.path else ""]
        n = len(self.issues)
        parts.append(f"{n} problem{'s' if n != 1 else ''}" if n else "valid")
        title = self.query_one("#doc-title", Static)
        title.update(" · ".join(p for p in parts if p))
        title.set_class(bool(n), "-problems")

    def unsaved_work(self) -> str | None:
        """What would be lost on quitting, or None."""
        if not self.doc.values or not self.doc.is_dirty():
            return None
        name = self.workbench.workspace.display(self.doc.path) if self.doc.path else "a new config"
        return f"unsaved changes to {name}"

    # --- form events ---------------------------------------------------------------------------------------

    def on_field_row_changed(self, message: FieldRow.Changed) -> None:
        row = message.row
        before = self.doc.values.get(row.key, MISSING)
        if message.unset:
            self.doc.unset(row.key)
        elif message.text is not None:
            self.doc.set_text(row.info, row.key, message.text)
        else:
            self.doc.set(row.key, message.value)
        after = self.doc.values.get(row.key, MISSING)
        if after == before and type(after) is type(before):
            return  # e.g. an editor reporting its first value
        if self.timer is not None:
            self.timer.stop()
        self.timer = self.set_timer(CHECK_DELAY_S, self._after_edit)

    def _after_edit(self) -> None:
        self.refresh_views()
        self.query_one(ConfigForm).refresh_counts()
        focused = self.focused
        row = next((a for a in focused.ancestors_with_self if isinstance(a, FieldRow)), None) if focused else None
        if row is not None:
            self.query_one(FieldHelp).show(row.info, row.key, self.issues.get(row.key))

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        row = next((a for a in event.widget.ancestors_with_self if isinstance(a, FieldRow)), None)
        if row is not None:
            self.query_one(FieldHelp).show(row.info, row.key, self.issues.get(row.key))

    # --- actions -------------------------------------------------------------------------------------------

    def _may_discard(self) -> bool:
        """True when there is nothing unsaved, or the user asked twice."""
        if not self.doc.is_dirty() or not self.doc.values or self.discard_armed:
            return True
        self.discard_armed = True
        self.notify("Unsaved changes: save first (ctrl+s), or repeat to discard them.", severity="warning")
        return False

    def _config_choices(self) -> list[tuple[str, str]]:
        workspace = self.workbench.workspace
        return [(workspace.display(p), str(p)) for p in workspace.configs()]

    def action_open(self) -> None:
        if self._may_discard():
            ask = AskScreen(
                "Open a config (YAML)", "path, relative to the workspace or absolute", "", self._config_choices()
            )
            self.app.push_screen(ask, self._open_answer)

    def _open_answer(self, answer: str | None) -> None:
        if answer:
            self.open_path(self.workbench.workspace.resolve(answer))

    def action_new(self) -> None:
        if self._may_discard():
            ask = AskScreen("New config from an example", "path of an example config", "", self._config_choices())
            self.app.push_screen(ask, self._new_answer)

    def _new_answer(self, answer: str | None) -> None:
        if answer:
            self.open_path(self.workbench.workspace.resolve(answer), example=True)

    def action_save(self) -> None:
        if self.doc.path is None:
            self.action_save_as()
            return
        try:
            path = self.doc.save()
        except OSError as exc:
            self.workbench.show_error("Saving the config", f"{self.doc.path}: {exc}")
            return
        self._saved(path)

    def action_save_as(self) -> None:
        workspace = self.workbench.workspace
        suggestion = workspace.display(self.doc.path) if self.doc.path else "configs/my_config.yaml"
        self.app.push_screen(AskScreen("Save the config as", "path of a new YAML file", suggestion), self._save_as)

    def _save_as(self, answer: str | None) -> None:
        if not answer:
            return
        path = self.workbench.workspace.resolve(answer)
        if path.suffix not in (".yaml", ".yml"):
            self.notify(f"{answer}: a config file name ends with .yaml", severity="error")
            return
        if path.exists() and path != self.doc.path:
            self.notify(f"{answer} exists: open it, or choose another name", severity="error")
            return
        try:
            self.doc.save_as(path)
        except OSError as exc:
            self.workbench.show_error("Saving the config", f"{path}: {exc}")
            return
        self._saved(path)

    def _saved(self, path: Path) -> None:
        self.discard_armed = False
        recovery_path(path, self.configs_dir).unlink(missing_ok=True)
        self.workbench.set_config(path)
        problems = f" with {len(self.issues)} problem(s)" if self.issues else ""
        self.notify(f"saved {self.workbench.workspace.display(path)}{problems}")
        self.refresh_views()

    def focus_key(self, key: str, path: Path | None = None) -> None:
        """Open ``path`` (unless it is open) and focus the field of ``key``: where a failed start points the user."""
        if path is not None and path != self.doc.path and self._may_discard():
            self.open_path(path)
        if not self.query_one(ConfigForm).focus_key(key):
            self.notify(f"{key}: not a field of this config", severity="warning")

    def action_toggle_advanced(self) -> None:
        group = self.query_one(ConfigForm).current_group()
        if group is not None and hasattr(group, "toggle_advanced"):
            group.toggle_advanced()

    def action_next_panel(self) -> None:
        """The next of issues, YAML and diff; below NARROW_BELOW columns, where they are hidden, the first press
        shows them (with the help) and the press after the diff hides them again."""
        tabs = self.query_one(TabbedContent)
        if self.has_class("-narrow"):
            if not self.has_class("-side-open"):
                self.show_panel(PANELS[0])
                return
            if tabs.active == PANELS[-1]:
                self._close_side()
                return
        tabs.active = PANELS[(PANELS.index(tabs.active) + 1) % len(PANELS)]

    def _close_side(self) -> None:
        side = self.query_one("#side")
        if side.has_focus_within:
            self.query_one(ConfigForm).query_one("#groups", OptionList).focus()
        self.remove_class("-side-open")
        self.query_one(TabbedContent).active = PANELS[0]

    def show_panel(self, panel: str) -> None:
        self.add_class("-side-open")
        self.query_one(TabbedContent).active = panel

    def action_leave_field(self) -> None:
        self.query_one("#groups", OptionList).focus()

    def palette_commands(self) -> list[PaletteCommand]:
        commands = [
            PaletteCommand("Config: open…", "Open a YAML config", self.action_open),
            PaletteCommand("Config: save", "Write the file (comments kept)", self.action_save),
            PaletteCommand("Config: save as…", "Write to a new file", self.action_save_as),
            PaletteCommand("Config: show issues", "Problems the engine finds", partial(self.show_panel, "issues")),
            PaletteCommand("Config: show YAML", "What saving writes", partial(self.show_panel, "yaml")),
            PaletteCommand("Config: show diff", "Against the file on disk", partial(self.show_panel, "diff")),
            PaletteCommand("Config: toggle advanced fields", "Unfold the advanced keys", self.action_toggle_advanced),
        ]
        for path in self.workbench.workspace.configs():
            commands.append(
                PaletteCommand(
                    f"Config: new from example {path.stem}",
                    f"Start from {self.workbench.workspace.display(path)}",
                    partial(self.open_path, path, True),
                )
            )
        return commands
