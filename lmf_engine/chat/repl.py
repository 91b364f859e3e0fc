"""The terminal chat of ``lmf-engine chat``: streamed answers, multi-line input, commands, Ctrl-C to stop an answer.

Reasoning (text inside thought words) is shown dimmed and kept in the history as the model wrote it; the template
drops old thoughts from later prompts as it does in training.
"""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from lmf_engine.data.media_paths import PLACEHOLDERS

from .conversation import Conversation, load_conversation, save_conversation
from .errors import ChatError
from .settings import merge_settings, parse_assignment
from .sync import SyncEngine
from .text import ThoughtSplitter

HELP = """\
Type a message and press Enter. End a line with \\ to go on with the next line, or put \"\"\" alone on a line
to start and end a multi-line message. Ctrl-C stops the answer being written; Ctrl-D or /exit leaves.

  /system TEXT     set the system prompt (/system alone shows it, /system - removes it)
  /clear           forget the conversation (the system prompt stays)
  /save FILE       save the conversation, system prompt and settings as JSON
  /load FILE       load a conversation saved with /save (or a JSON list of messages)
  /set KEY=VALUE   change a generation setting, e.g. /set temperature=0.2 max_new_tokens=256 seed=1
  /set             show the generation settings
  /image FILE      send a picture with your next message (vision-language models)
  /help            show this help
  /exit            leave"""
FENCE = '"""'


class ChatRepl:
    """One terminal conversation with an engine. ``read_line(prompt)`` reads input (``input`` by default)."""

    def __init__(
        self,
        engine: SyncEngine,
        console: Console | None = None,
        read_line: Callable[[str], str] = input,
        system: str | None = None,
    ) -> None:
        self.engine = engine
        self.console = console or Console(highlight=False)
        self.read_line = read_line
        self.system = system
        self.messages: list[dict[str, str]] = []
        self.overrides: dict[str, Any] = {}
        self.images: list[str] = []
        """The images of the conversation so far, in order (each at an ``<image>`` of its message)."""
        self.pending: list[str] = []
        """Images given with /image, sent with the next message."""

    def run(self) -> None:
        """Read and answer until Ctrl-D or /exit."""
        engine = self.engine.engine
        self.console.print(f"Chatting with [bold]{engine.model_name or engine.name}[/]. /help for commands.")
        while True:
            try:
                text = self.read_message()
            except KeyboardInterrupt:
                self.console.print("\n[dim](/exit or Ctrl-D to leave)[/]")
                continue
            except EOFError:
                self.console.print()
                return
            if not text.strip():
                continue
            if text.startswith("/") and not self.command(text.strip()):
                return
            if not text.startswith("/"):
                self.answer(text)

    def read_message(self) -> str:
        """One message: a line, lines joined by a final backslash, or lines between two \"\"\" lines."""
        first = self.read_line(">>> ")
        if first.strip() == FENCE:
            lines = []
            while (line := self.read_line("... ")).strip() != FENCE:
                lines.append(line)
            return "\n".join(lines)
        lines = [first]
        while lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1]
            lines.append(self.read_line("... "))
        return "\n".join(lines)

    def command(self, line: str) -> bool:
        """Run a /command; False means leave."""
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        handlers: dict[str, Callable[[str], None]] = {
            "/system": self._system,
            "/clear": self._clear,
            "/save": self._save,
            "/load": self._load,
            "/set": self._set,
            "/image": self._image,
            "/help": lambda _: self.console.print(HELP, markup=False),
        }
        if name in ("/exit", "/quit"):
            return False
        handler = handlers.get(name)
        if handler is None:
            self.console.print(f"[red]unknown command {name}[/]; /help lists them", markup=True)
        else:
            handler(arg)
        return True

    def _system(self, arg: str) -> None:
        if not arg:
            self.console.print(
                f"system prompt: {self.system!r}" if self.system else "no system prompt (template's default)"
            )
            return
        self.system = None if arg == "-" else arg
        self.console.print("[dim]system prompt removed[/]" if self.system is None else "[dim]system prompt set[/]")

    def _clear(self, _: str) -> None:
        self.messages, self.images, self.pending = [], [], []
        self.console.print("[dim]conversation cleared[/]")

    def _image(self, arg: str) -> None:
        if not arg:
            self.console.print("[red]usage: /image FILE[/]")
            return
        if not Path(arg).is_file():
            self.console.print(f"no file {arg}", style="red", markup=False)
            return
        self.pending.append(arg)
        self.console.print(f"[dim]{arg} goes with your next message ({len(self.pending)} image(s))[/]", markup=True)

    def _save(self, arg: str) -> None:
        if not arg:
            self.console.print("[red]usage: /save FILE[/]")
            return
        try:
            save_conversation(Path(arg), Conversation(self.system, self.messages, self.overrides))
        except OSError as exc:
            self.console.print(f"[red]cannot save {arg}: {exc.strerror or exc}[/]", markup=True)
            return
        self.console.print(f"[dim]saved {len(self.messages)} messages to {arg}[/]", markup=True)

    def _load(self, arg: str) -> None:
        if not arg:
            self.console.print("[red]usage: /load FILE[/]")
            return
        try:
            loaded = load_conversation(Path(arg))
            system, messages, settings = loaded.system, loaded.messages, merge_settings({}, loaded.settings)
        except (OSError, ValueError, ChatError) as exc:
            self.console.print(f"cannot load {arg}: {exc}", style="red", markup=False)
            return
        self.system, self.messages, self.overrides = system, messages, settings
        self.console.print(f"[dim]loaded {len(messages)} messages from {arg}[/]", markup=True)

    def _set(self, arg: str) -> None:
        if not arg:
            current = merge_settings(self.engine.engine.settings, self.overrides)
            for key, value in current.items():
                mark = " (set)" if key in self.overrides else ""
                self.console.print(f"  {key} = {value!r}{mark}", markup=False)
            return
        try:
            pairs = [parse_assignment(part) for part in arg.split()]
        except ChatError as exc:
            self.console.print(str(exc), style="red", markup=False)
            return
        for key, value in pairs:
            self.overrides[key] = value
            self.console.print(f"[dim]{key} = {value!r}[/]", markup=True)

    def answer(self, text: str) -> None:
        """Stream the answer to ``text``; Ctrl-C stops it and keeps what was written."""
        before, images = self.images, self.images + self.pending
        self.messages.append({"role": "user", "content": PLACEHOLDERS["images"] * len(self.pending) + text})
        self.pending = []
        try:
            stream = self.engine.stream(self.messages, self.system, images=images or None, **self.overrides)
        except ChatError as exc:
            self.messages.pop()
            self.console.print(str(exc), style="red", markup=False)
            return
        self.images = images
        splitter = ThoughtSplitter()
        started = time.perf_counter()
        try:
            self._show(stream, splitter)
        except ChatError as exc:
            self.messages.pop()
            self.images = before
            self.console.print(f"\n{exc}", style="red", markup=False)
            return
        response = stream.response
        assert response is not None
        for kind, piece in splitter.finish():
            self._print(kind, piece)
        self.console.print()
        if response.raw_text or response.finish_reason != "cancelled":
            self.messages.append({"role": "assistant", "content": response.raw_text})
        else:
            self.messages.pop()
            self.images = before
        elapsed = time.perf_counter() - started
        rate = f", {response.completion_tokens / elapsed:.1f} tokens/s" if elapsed > 0 else ""
        self.console.print(f"[dim][{response.completion_tokens} tokens{rate}, {response.finish_reason}][/]")

    def _show(self, stream: Any, splitter: ThoughtSplitter) -> None:
        while True:
            try:
                for chunk in stream:
                    for kind, piece in splitter.feed(chunk):
                        self._print(kind, piece)
                return
            except KeyboardInterrupt:
                stream.cancel()

    def _print(self, kind: str, piece: str) -> None:
        style = "dim italic" if kind == "reasoning" else None
        self.console.print(piece, end="", style=style, markup=False, highlight=False, soft_wrap=True)
