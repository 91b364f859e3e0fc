"""One side's transcript: its target and state in the border, its turns below, scrolled to the newest."""

from typing import Any

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from .chat_turn import AnswerTurn, UserTurn

EMPTY_TEXT = "Type a message below and press Enter (ctrl+j: new line). ctrl+o chooses the model, ctrl+b compares two."


class ChatColumn(VerticalScroll):
    """A transcript. ``side`` is ``a`` or ``b``; its border shows the target's label and what the model is doing."""

    DEFAULT_CSS = """
    ChatColumn { width: 1fr; height: 1fr; border: round $primary 50%; padding: 0 1; background: $surface; }
    ChatColumn:focus-within { border: round $primary; }
    ChatColumn.-loading { border: round $warning; }
    ChatColumn.-error { border: round $error; }
    ChatColumn #empty { color: $text-muted; margin: 1 0; }
    ChatColumn #load-error { margin: 1 0; }
    """

    def __init__(self, side: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.side = side
        self.label = "no model"
        self.state = ""
        self.can_focus = True
        self._update_title()

    def compose(self) -> Any:
        yield Static(Content(EMPTY_TEXT), id="empty")

    def _update_title(self) -> None:
        prefix = f"{self.side.upper()}: " if self.side == "b" or self.has_class("-paired") else ""
        self.border_title = Content(prefix + self.label)
        self.border_subtitle = Content(self.state)

    def set_target(self, label: str, state: str) -> None:
        """Show what this side talks to, and its state (loading, ready, an error)."""
        if not state.startswith("error"):
            self.query("#load-error").remove()
        self.label, self.state = label, state
        self.set_class(state.startswith("loading"), "-loading")
        self.set_class(state.startswith("error"), "-error")
        self._update_title()

    def failed(self, label: str, message: str) -> None:
        """The model could not load: say why at the top of the transcript, and what to do."""
        self.set_target(label, "error: not loaded")
        note = Content.assemble((message, "$error"), ("\n\nctrl+o chooses another model.", "$text-muted"))
        self.query("#load-error").remove()
        self.mount(Static(note, id="load-error"), before=0)

    def set_paired(self, paired: bool) -> None:
        """Mark the column as side A of an A/B chat (its title says so)."""
        self.set_class(paired, "-paired")
        self._update_title()

    def turns(self) -> list[UserTurn | AnswerTurn]:
        return [child for child in self.children if isinstance(child, UserTurn | AnswerTurn)]

    async def add_user(self, text: str, role: str, index: int) -> UserTurn:
        """Add the user's message ``index`` (its place in the conversation)."""
        self.query("#empty").remove()
        turn = UserTurn(text, role, index)
        await self.mount(turn)
        self.scroll_end(animate=False)
        return turn

    async def add_answer(self) -> AnswerTurn:
        """Add an empty answer to stream into."""
        self.query("#empty").remove()
        turn = AnswerTurn()
        await self.mount(turn)
        self.scroll_end(animate=False)
        return turn

    async def drop_from(self, count: int) -> None:
        """Remove every turn after the first ``count``."""
        turns = self.turns()
        if len(turns) > count:
            await self.remove_children(turns[count:])

    async def clear(self) -> None:
        await self.remove_children()
        await self.mount(Static(Content(EMPTY_TEXT), id="empty"))

    def last_answer(self) -> AnswerTurn | None:
        answers = [turn for turn in self.turns() if isinstance(turn, AnswerTurn)]
        return answers[-1] if answers else None

    def follow(self) -> None:
        """Keep the newest text in view while it streams (unless the user scrolled up to read)."""
        if self.max_scroll_y - self.scroll_y <= 3:
            self.scroll_end(animate=False)
