"""The config form: a list of groups beside the fields of the chosen group, advanced fields folded away.

A group's rows are mounted the first time it is shown, and its advanced rows the first time they are unfolded,
so opening the screen stays fast with ~190 keys.
"""

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Collapsible, ContentSwitcher, OptionList
from textual.widgets.option_list import Option

from lmf_engine.config import GROUP_CLASSES, FieldInfo, all_fields, field_index

from .field_row import FieldRow

OTHER = "other"


class GroupForm(VerticalScroll):
    """The rows of one group. ``values`` are the document's raw values; ``issues`` key -> message."""

    DEFAULT_CSS = """
    GroupForm { height: 1fr; }
    GroupForm Collapsible { padding: 0; border-top: none; background: $surface; }
    """

    def __init__(
        self, form_id: str, group: str, infos: list[FieldInfo], values: dict[str, Any], issues: dict[str, str]
    ) -> None:
        super().__init__(id=form_id)
        self.group = group
        self.basic = [i for i in infos if not i.advanced]
        self.advanced = [i for i in infos if i.advanced]
        self.values = values
        self.issues = issues
        self.advanced_mounted = False

    def _row(self, info: FieldInfo) -> FieldRow:
        row = FieldRow(info, info.name, self.values.get(info.name, info.default), info.name in self.values)
        if info.name in self.issues:
            row.set_class(True, "-invalid")
        return row

    def compose(self) -> ComposeResult:
        for info in self.basic:
            yield self._row(info)
        if self.advanced:
            yield Collapsible(title=f"Advanced ({len(self.advanced)})", collapsed=True, id=f"advanced-{self.group}")

    def on_mount(self) -> None:
        self.show_issues(self.issues)

    def on_collapsible_expanded(self, event: Collapsible.Expanded) -> None:
        if not self.advanced_mounted and event.collapsible.id == f"advanced-{self.group}":
            self.advanced_mounted = True
            event.collapsible.query_one(Collapsible.Contents).mount_all([self._row(i) for i in self.advanced])
            self.call_after_refresh(self.show_issues, self.issues)

    def toggle_advanced(self) -> None:
        for collapsible in self.query(Collapsible):
            collapsible.collapsed = not collapsible.collapsed

    def show_issues(self, issues: dict[str, str]) -> None:
        self.issues = issues
        for row in self.query(FieldRow):
            row.set_issue(issues.get(row.key))


class OtherForm(VerticalScroll):
    """Keys of the file that the config does not know (each is an issue); clear one to remove it."""

    DEFAULT_CSS = "OtherForm { height: 1fr; }"

    def __init__(self, form_id: str, values: dict[str, Any], issues: dict[str, str]) -> None:
        super().__init__(id=form_id)
        self.values = values
        self.issues = issues

    def compose(self) -> ComposeResult:
        index = field_index()
        for key, value in self.values.items():
            if key not in index:
                yield FieldRow(None, key, value, True)

    def on_mount(self) -> None:
        self.show_issues(self.issues)

    def show_issues(self, issues: dict[str, str]) -> None:
        self.issues = issues
        for row in self.query(FieldRow):
            row.set_issue(issues.get(row.key))


class ConfigForm(Horizontal):
    """Groups on the left, the chosen group's fields on the right."""

    DEFAULT_CSS = """
    ConfigForm { height: 1fr; }
    ConfigForm #groups { width: 18; border: round $primary 50%; }
    ConfigForm #groups:focus { border: round $primary; }
    ConfigForm ContentSwitcher { width: 1fr; height: 1fr; border: round $primary 50%; }
    ConfigForm ContentSwitcher:focus-within { border: round $primary; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.values: dict[str, Any] = {}
        self.issues: dict[str, str] = {}
        self.generation = 0

    def compose(self) -> ComposeResult:
        yield OptionList(id="groups")
        yield ContentSwitcher(id="group-switcher")

    def load(self, values: dict[str, Any], issues: dict[str, str]) -> None:
        """Show a new document: drop every mounted group and show the first one."""
        self.values, self.issues = values, issues
        self.generation += 1  # forms of the old document may still be leaving the DOM: new ids
        switcher = self.query_one(ContentSwitcher)
        switcher.remove_children()
        groups = self.query_one("#groups", OptionList)
        groups.clear_options()
        names = list(GROUP_CLASSES)
        if any(key not in field_index() for key in values):
            names.append(OTHER)
        groups.add_options([Option(Content(f"{name} ({self._count(name)})"), id=name) for name in names])
        groups.highlighted = 0
        self.show_group(names[0])

    def _count(self, group: str) -> int:
        """How many keys of ``group`` the document sets."""
        index = field_index()
        if group == OTHER:
            return sum(1 for key in self.values if key not in index)
        return sum(1 for key in self.values if key in index and index[key].group == group)

    def show_group(self, group: str) -> None:
        switcher = self.query_one(ContentSwitcher)
        form_id = f"group-{self.generation}-{group}"
        if not switcher.query(f"#{form_id}"):
            if group == OTHER:
                switcher.mount(OtherForm(form_id, self.values, self.issues))
            else:
                infos = [info for info in all_fields() if info.group == group]
                switcher.mount(GroupForm(form_id, group, infos, self.values, self.issues))
        switcher.current = form_id

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None:
            self.show_group(event.option.id)

    def focus_key(self, key: str) -> bool:
        """Show the group of ``key`` (unfolding advanced keys when it is one) and focus its editor; False when the
        form has no such key."""
        info = field_index().get(key)
        group = info.group if info is not None else OTHER
        groups = self.query_one("#groups", OptionList)
        index = next((i for i in range(groups.option_count) if groups.get_option_at_index(i).id == group), None)
        if index is None:
            return False
        groups.highlighted = index
        self.show_group(group)
        self.call_after_refresh(self._focus_row, key, info is not None and info.advanced)
        return True

    def _focus_row(self, key: str, advanced: bool, attempts: int = 10) -> None:
        """Focus the row of ``key`` once it is mounted: a group shown for the first time mounts its rows after this
        refresh, and its advanced rows only once their section is unfolded."""
        rows = self.query(f"#field-{key}")
        if not rows:
            form = self.current_group()
            if advanced and isinstance(form, GroupForm):
                for collapsible in form.query(Collapsible):
                    collapsible.collapsed = False
            if attempts:
                self.call_after_refresh(self._focus_row, key, advanced, attempts - 1)
            return
        row = rows.first()
        row.query_one("#editor").focus()
        row.scroll_visible(animate=False)

    def current_group(self) -> GroupForm | OtherForm | None:
        content = self.query_one(ContentSwitcher).visible_content
        return content if isinstance(content, GroupForm | OtherForm) else None

    def show_issues(self, issues: dict[str, str]) -> None:
        self.issues = issues
        for form in self.query_one(ContentSwitcher).children:
            if isinstance(form, GroupForm | OtherForm):
                form.show_issues(issues)

    def refresh_counts(self) -> None:
        groups = self.query_one("#groups", OptionList)
        for index in range(groups.option_count):
            option = groups.get_option_at_index(index)
            if option.id is not None:
                groups.replace_option_prompt_at_index(index, f"{option.id} ({self._count(option.id)})")
