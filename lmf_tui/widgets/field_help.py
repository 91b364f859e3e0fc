"""Help for the focused config key: its help text, type, default, choices or range, and its current problem."""

from typing import Any

from textual.content import Content
from textual.widgets import Static

from lmf_engine.config import FieldInfo

from ..config_document import format_value


def help_content(info: FieldInfo | None, key: str, issue: str | None) -> Content:
    if info is None:
        parts = [Content.styled(key, "bold $primary"), Content("\nnot a key of the config")]
    else:
        group = info.group + (", advanced" if info.advanced else "")
        parts = [
            Content.assemble((key, "bold $primary"), (f"  ({group})", "$text-muted")),
            Content(f"\n{info.help}\n"),
            Content.assemble(("\ntype ", "$text-muted"), info.type_name),
            Content.assemble(("\ndefault ", "$text-muted"), format_value(info.default)),
        ]
        if info.range_text():
            parts.append(Content.assemble(("\nrange ", "$text-muted"), info.range_text()))
    if issue:
        parts.append(Content.styled(f"\n\n{issue}", "$error"))
    return Content("").join(parts)


class FieldHelp(Static):
    """Filled in as focus moves through the form."""

    DEFAULT_CSS = """
    FieldHelp { height: auto; min-height: 6; border: round $secondary; padding: 0 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("Move through the form to see each key's help here.", **kwargs)
        self.border_title = "Help"

    def show(self, info: FieldInfo | None, key: str, issue: str | None) -> None:
        self.update(help_content(info, key, issue))
