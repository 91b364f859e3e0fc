"""One turn of a chat transcript: a user (or tool result) message, or an answer streamed as Markdown.

An answer keeps the model's reasoning in a folded "Thinking" section, shows tool calls as calls (name and
arguments) and ends with its figures: tokens, tokens/s, time to first token and why it ended.
"""

import json
import time
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Collapsible, Markdown, Static

from .stream_text import StreamText

PAINT_INTERVAL_S = 0.1
"""Longest streamed text waits to be painted (after the first piece, which never waits): ten updates a second read
as smooth, and each update takes its time from a generating model on the same CPU."""
ROLE_TITLES = {"user": "you", "observation": "tool result", "assistant": "answer", "function": "tool call"}


@dataclass(frozen=True)
class Figures:
    """What one answer cost: new tokens, seconds from request to end, seconds to the first text, finish reason."""

    tokens: int
    seconds: float
    first_token: float | None
    finish: str

    @property
    def rate(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    def text(self) -> str:
        first = f" · first token {self.first_token * 1000:.0f} ms" if self.first_token is not None else ""
        return f"{self.tokens} tokens · {self.rate:.1f} tokens/s{first} · {self.finish}"


def calls_content(calls: list[tuple[str, str]]) -> Content:
    """Tool calls as ``⚙ name(arguments)`` lines, arguments as compact JSON when they parse."""
    lines = []
    for name, arguments in calls:
        try:
            shown = json.dumps(json.loads(arguments), ensure_ascii=False)
        except (TypeError, ValueError):
            shown = arguments
        lines.append(Content.assemble(("⚙ ", "$accent"), (name, "bold $accent"), f"({shown})"))
    return Content("\n").join(lines)


class UserTurn(Static):
    """A message typed by the user: ``role`` is ``user`` or ``observation`` (a tool result)."""

    DEFAULT_CSS = """
    UserTurn { height: auto; margin: 1 0 0 0; padding: 0 1; border-left: thick $secondary; background: $boost; }
    UserTurn.-tool { border-left: thick $accent; }
    """

    def __init__(self, text: str, role: str = "user", index: int = 0) -> None:
        super().__init__(Content(text))
        self.role = role
        self.index = index
        self.text = text
        self.border_title = ROLE_TITLES[role]
        if role == "observation":
            self.add_class("-tool")


class AnswerTurn(Vertical):
    """An answer: reasoning (folded), the answer, tool calls and its figures.

    While it is written the text streams as plain text (:class:`StreamText`: a repaint, and a layout only for a new
    row), the first piece at once and later ones gathered for ``PAINT_INTERVAL_S``; once complete it is rendered as
    Markdown (code blocks highlighted). Rendering Markdown for every piece costs a whole-screen layout each time,
    which on a CPU-bound model halved the speed of generation (the UI and the generating thread share the GIL).
    """

    DEFAULT_CSS = """
    AnswerTurn { height: auto; margin: 1 0 0 0; padding: 0 0 0 1; border-left: thick $primary; }
    AnswerTurn.-cancelled { border-left: thick $warning; }
    AnswerTurn Collapsible { display: none; padding: 0; margin: 0; border: none; background: $surface; }
    AnswerTurn.-thinking Collapsible { display: block; }
    AnswerTurn CollapsibleTitle { width: 1fr; }
    AnswerTurn #reasoning { color: $text-muted; text-style: italic; }
    AnswerTurn Markdown { margin: 0; padding: 0; background: transparent; display: none; }
    AnswerTurn.-finished Markdown { display: block; }
    AnswerTurn.-finished #answer-stream { display: none; }
    AnswerTurn #calls { display: none; }
    AnswerTurn.-calls #calls { display: block; }
    AnswerTurn #figures { color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.reasoning = ""
        self.answer = ""
        self.finished = False
        self._pending: dict[str, list[str]] = {"reasoning": [], "content": []}
        self._next_paint = 0.0

    def compose(self) -> ComposeResult:
        with Collapsible(title="Thinking…", collapsed=True, id="thinking"):
            yield StreamText(id="reasoning")
        yield StreamText(id="answer-stream")
        yield Markdown("", id="answer")
        yield Static("", id="calls")
        yield Static(Content.styled("waiting for the first token…", "$text-muted"), id="figures")

    def add(self, kind: str, text: str) -> bool:
        """Append streamed text (``reasoning`` goes into the folded section, ``content`` into the answer); True when
        it was painted now (the first text, and then once per ``PAINT_INTERVAL_S``)."""
        if not self.reasoning and not self.answer:
            self.query_one("#figures", Static).update(Content.styled("writing… (escape stops it)", "$text-muted"))
        if kind == "reasoning":
            self.reasoning += text
        else:
            self.answer += text
        self._pending["reasoning" if kind == "reasoning" else "content"].append(text)
        if time.monotonic() < self._next_paint:
            return False
        self.paint()
        return True

    def paint(self) -> None:
        """Show the text gathered since the last paint."""
        self._next_paint = time.monotonic() + PAINT_INTERVAL_S
        reasoning, content = ("".join(self._pending[kind]) for kind in ("reasoning", "content"))
        self._pending = {"reasoning": [], "content": []}
        if reasoning:
            self.add_class("-thinking")
            self.query_one("#reasoning", StreamText).append(reasoning)
        if content:
            self.query_one("#answer-stream", StreamText).append(content)

    async def finish(self, text: str, reasoning: str, calls: list[tuple[str, str]], figures: Figures) -> None:
        """Show the complete answer (as the engine finally split it) as Markdown, its calls and figures."""
        self.paint()
        self.answer = text
        await self.query_one(Markdown).update(text)
        self.add_class("-finished")
        self.reasoning = reasoning
        self.set_class(bool(reasoning), "-thinking")
        self.query_one("#reasoning", StreamText).replace(reasoning)  # its exact rows, none kept ahead
        if self.reasoning:
            self.query_one(Collapsible).title = f"Thinking ({len(self.reasoning)} characters)"
        if calls:
            self.add_class("-calls")
            self.query_one("#calls", Static).update(calls_content(calls))
        self.set_class(figures.finish == "cancelled", "-cancelled")
        self.query_one("#figures", Static).update(Content(figures.text()))
        self.finished = True

    async def show_saved(self, text: str, reasoning: str, calls: list[tuple[str, str]], origin: str) -> None:
        """An answer written earlier (loaded from a file, or copied from side A): ``origin`` says where from."""
        await self.finish(text, reasoning, calls, Figures(0, 0.0, None, origin))
        self.query_one("#figures", Static).update(Content.styled(origin, "$text-muted"))

    def failed(self, message: str) -> None:
        """The answer could not be generated: say why where its figures would be."""
        self.finished = True
        self.add_class("-cancelled")
        self.query_one("#figures", Static).update(Content.styled(message, "$error"))

    def toggle_thinking(self) -> bool:
        """Fold or unfold the reasoning; True when it is now shown."""
        collapsible = self.query_one(Collapsible)
        collapsible.collapsed = not collapsible.collapsed
        return not collapsible.collapsed
