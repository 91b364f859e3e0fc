"""Screen 6: chat with a run's result, a config's model or a server, alone or side by side (A/B).

The model loads in a thread worker (torch is imported there, never before); answers stream on the UI's event loop
(the transformers engine generates in its own thread and hands text over in batches), so typing, scrolling and
``escape`` stay immediate while a model loads or writes.
"""

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer, Header, TextArea
from textual.worker import Worker, WorkerState

from lmf_engine.chat.conversation import load_conversation, save_conversation
from lmf_engine.chat.errors import ChatError
from lmf_engine.chat.target import ChatTarget
from lmf_engine.chat.text import ThoughtSplitter
from lmf_engine.data.media_paths import PLACEHOLDERS
from lmf_engine.data.multimodal.images import picture_problem

from .. import chat_open
from ..bindings import bindings_for
from ..chat_session import Side, answer_message, conversation_of, histories_of, saved_answer
from ..chat_targets import opening_target, remember_target, remembered_target, target_choices, vllm_installed
from ..palette import PaletteCommand
from ..widgets.chat_column import ChatColumn
from ..widgets.chat_settings import ChatSettings, SettingProblem
from ..widgets.chat_turn import PAINT_INTERVAL_S, AnswerTurn, Figures
from ..widgets.message_input import MessageInput
from ..workers import describe_error
from .ask import AskScreen
from .base import WorkbenchScreen
from .chat_target import TargetScreen
from .choose import ChooseScreen
from .train import NARROW_BELOW

if TYPE_CHECKING:
    from lmf_engine.chat import ChatEngine, ChatStream

CHATS_FOLDER = "chats"
clock = time.perf_counter
"""The clock of an answer's figures (tests replace it to make them fixed)."""


class ChatScreen(WorkbenchScreen):
    """One conversation (side A), or the same prompts sent to two targets (A/B) in two columns."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("chat")
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (NARROW_BELOW, "-wide")]
    DEFAULT_CSS = """
    ChatScreen #chat-body { height: 1fr; }
    ChatScreen #chat-main { width: 1fr; }
    ChatScreen #columns { height: 1fr; }
    ChatScreen #side-b { display: none; }
    ChatScreen.-ab #side-b { display: block; }
    ChatScreen.-narrow ChatSettings { width: 34; }
    ChatScreen.-hide-settings ChatSettings { display: none; }
    """

    class Loaded(Message):
        """The engines of a load request (``number``) are ready."""

        def __init__(self, number: int, engines: list["ChatEngine"]) -> None:
            super().__init__()
            self.number = number
            self.engines = engines

    def __init__(self) -> None:
        super().__init__()
        self.sides = [Side("a"), Side("b")]
        self.paired = False
        self.loading: int | None = None
        self.load_number = 0
        self.load_started = 0.0
        self.waiting = False
        self.editing: int | None = None
        self.column_focus_asked = False
        self.streams: list[ChatStream] = []
        self.pending_images: list[str] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="chat-body"):
            with Vertical(id="chat-main"):
                with Horizontal(id="columns"):
                    yield ChatColumn("a", id="side-a")
                    yield ChatColumn("b", id="side-b")
                yield MessageInput(id="message")
            yield ChatSettings(id="chat-settings")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        workspace = self.workbench.workspace
        if self.size.width < NARROW_BELOW:
            self.add_class("-hide-settings")
        self.set_interval(0.5, self._tick_loading)
        target = self.workbench.chat_request or opening_target(workspace, remembered_target(workspace))
        self.workbench.chat_request = None
        self.query_one(MessageInput).focus()
        if target is None:
            self._show_states()
            return
        self.sides[0].target = target
        self._load()

    def take_chat_request(self) -> None:
        """Load the target another screen asked for (a finished run's ``c``), unless an answer is being written."""
        target, self.workbench.chat_request = self.workbench.chat_request, None
        if target is None or target == self.sides[0].target:
            return
        if self.generating:
            self.notify("an answer is being written: escape stops it, then choose the run with ctrl+o")
            return
        self.sides[0].target = target
        self._load()

    def on_screen_resume(self) -> None:
        """Back from a dialog (or another screen): a target another screen asked for is loaded, and the message box
        has focus unless the settings panel had it."""
        if self.workbench.chat_request is not None:
            self.take_chat_request()
        if not self.query_one(ChatSettings).has_focus_within:
            self.call_after_refresh(self.query_one(MessageInput).focus)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """A transcript takes the focus only when asked (escape); textual moves the focus there on its own when the
        message box is hidden for a moment by a relayout (A/B starting), and it goes straight back to the box."""
        if isinstance(event.widget, ChatColumn) and not self.column_focus_asked:
            self.call_after_refresh(self.query_one(MessageInput).focus)
        self.column_focus_asked = False

    def column(self, side: Side) -> ChatColumn:
        return self.query_one(f"#side-{side.name}", ChatColumn)

    @property
    def active(self) -> list[Side]:
        """The sides in use: A, and B in A/B mode."""
        return self.sides if self.paired else self.sides[:1]

    @property
    def generating(self) -> bool:
        return bool(self.streams)

    # loading

    def _load(self) -> None:
        """Start the engines of the active sides' targets (releasing those no longer wanted)."""
        self.load_number += 1
        self.loading = self.load_number
        self.load_started = clock()
        current = {side.engine_target: side.engine for side in self.sides if side.engine_target and side.engine}
        for side in self.sides:
            side.engine, side.engine_target = None, None
        self._show_states()
        targets = [side.target for side in self.active if side.target is not None]
        self._open(self.load_number, targets, current)

    @work(thread=True, exclusive=True, group="load", exit_on_error=False, description="Loading the chat model")
    def _open(self, number: int, targets: list[ChatTarget], current: dict[ChatTarget, "ChatEngine"]) -> None:
        engines = chat_open.open_engines(targets, self.workbench.workspace.root, current, self._release)
        self.post_message(self.Loaded(number, engines))

    def _release(self, engine: "ChatEngine") -> None:
        """Close an engine on the UI's loop (called from the loading thread, which waits)."""
        self.app.call_from_thread(engine.aclose)

    def on_chat_screen_loaded(self, message: Loaded) -> None:
        if message.number != self.loading:
            for engine in message.engines:
                self.run_worker(engine.aclose(), description="Closing an engine no longer wanted")
            return
        self.loading = None
        for side, engine in zip(self.active, message.engines, strict=True):
            side.engine, side.engine_target = engine, side.target
            engine.stream_interval = PAINT_INTERVAL_S  # text sooner than the screen paints it only costs the model
        self.query_one(ChatSettings).set_defaults(self.sides[0].engine.settings if self.sides[0].engine else {})
        self._show_states()
        target = self.sides[0].target
        if target is not None:
            try:
                remember_target(self.workbench.workspace, target)
            except OSError as exc:
                self.notify(f"cannot remember the chat target: {exc}", severity="warning")
        if self.waiting:
            self.waiting = False
            self._ask()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A model that cannot load is reported in its column (the screen stays usable); other failures go on to the
        base class's handler (textual calls it after this one unless the default is prevented)."""
        worker = event.worker
        if worker.group != "load" or event.state is not WorkerState.ERROR or worker.error is None:
            return
        event.prevent_default()
        message, details = describe_error(worker.error)
        self.loading = None
        if self.waiting:
            self.waiting = False
            self.run_worker(self._drop_unanswered(self.active), description="Taking back an unsent message")
        for side in self.active:
            if side.engine is None:
                self.column(side).failed(side.label, message)
        if details is not None:
            self.workbench.show_error(worker.description, message, details)

    def _tick_loading(self) -> None:
        if self.loading is not None:
            self._show_states()

    def _show_states(self) -> None:
        for side in self.sides:
            if self.loading is not None and side in self.active and side.engine is None:
                state = f"loading… {clock() - self.load_started:.0f} s"
            elif side.engine is not None:
                engine = side.engine
                state = f"{engine.name} · {engine.model_name}"
            else:
                state = "no model" if side.target is None else "not loaded"
            self.column(side).set_target(side.label, state)
            self.column(side).set_paired(self.paired)

    # sending and streaming

    @on(MessageInput.Submitted)
    async def _submitted(self, event: MessageInput.Submitted) -> None:
        event.stop()
        text = event.text
        if not text.strip():
            return
        if self.generating:
            self.notify("an answer is being written: escape stops it", severity="warning")
            return
        if self.loading is None and not all(side.engine is not None for side in self.active):
            self.notify("no model is loaded: ctrl+o chooses one", severity="warning")
            return
        try:
            self._request_settings()
        except SettingProblem as exc:
            self.notify(str(exc), title=f"Setting {exc.key}", severity="error")
            return
        box = self.query_one(MessageInput)
        role = "observation" if box.mode == "observation" else "user"
        if self.editing is not None:
            await self._fork(self.editing)
        box.clear()
        box.set_mode("user")
        pictures, self.pending_images = self.pending_images, []
        self._show_pictures()
        content = PLACEHOLDERS["images"] * len(pictures) + text
        shown = "".join(f"[picture {Path(picture).name}] " for picture in pictures) + text
        for side in self.active:
            side.messages.append({"role": role, "content": content})
            side.images.extend(pictures)
            await self.column(side).add_user(shown, role, len(side.messages) - 1)
        if self.loading is not None:
            self.waiting = True
            self.notify("the model is still loading: the message goes out once it is ready", timeout=3)
            return
        self._ask()

    def _request_settings(self) -> tuple[str | None, str | None, dict[str, object]]:
        panel = self.query_one(ChatSettings)
        return panel.system(), panel.tools(), panel.overrides()

    @work(exclusive=True, group="answer", exit_on_error=False, description="Answering")
    async def _ask(self) -> None:
        sides = [side for side in self.active if side.engine is not None]
        system, tools, settings = self._request_settings()
        try:
            streams = self._start(sides, system, tools, settings)
        except ChatError as exc:
            self.notify(str(exc), title="Not sent", severity="error")
            await self._drop_unanswered(sides)
            return
        self.streams = streams
        try:
            turns = [await self.column(side).add_answer() for side in sides]
            await asyncio.gather(
                *(self._consume(side, stream, turn) for side, stream, turn in zip(sides, streams, turns, strict=True))
            )
        finally:
            self.streams = []
        answers = [side.messages[-1]["role"] == "function" for side in sides if side.last_is_answer()]
        if any(answers):
            self.query_one(MessageInput).set_mode("observation")

    def _start(
        self, sides: list[Side], system: str | None, tools: str | None, settings: dict[str, object]
    ) -> list["ChatStream"]:
        if len(sides) == 2:
            from lmf_engine.chat.pair import stream_both

            assert sides[0].engine is not None and sides[1].engine is not None
            images = sides[0].images or None  # both sides have had the same messages sent, pictures included
            pair = stream_both(
                sides[0].engine, sides[1].engine, sides[0].messages, sides[1].messages, system, tools,
                images=images, **settings,
            )  # fmt: skip
            streams = list(pair)
        else:
            assert sides[0].engine is not None
            images = sides[0].images or None
            streams = [sides[0].engine.stream_chat(sides[0].messages, system, tools, images=images, **settings)]
        for side, stream in zip(sides, streams, strict=True):
            side.prompt_ids = stream.request.prompt_ids
        return streams

    async def _drop_unanswered(self, sides: list[Side]) -> None:
        """Take back the user's message that could not be sent (it goes back into the box)."""
        text, pictures = "", []
        placeholder = PLACEHOLDERS["images"]
        for side in sides:
            if side.messages and not side.last_is_answer():
                text = side.messages.pop()["content"]
                kept = len(side.images) - text.count(placeholder)
                pictures = side.images[kept:]
                del side.images[kept:]
                await self.column(side).drop_from(len(side.messages))
        box = self.query_one(MessageInput)
        if text and not box.text:
            box.text = text.removeprefix(placeholder * len(pictures))
            self.pending_images = pictures + self.pending_images
            self._show_pictures()

    async def _consume(self, side: Side, stream: "ChatStream", turn: AnswerTurn) -> None:
        assert side.engine is not None
        column = self.column(side)
        started, first = clock(), None
        splitter = ThoughtSplitter(side.engine.thought_words()[0])
        try:
            async for chunk in stream:
                if first is None:
                    first = clock() - started
                painted = [turn.add(kind, piece) for kind, piece in splitter.feed(chunk)]
                if any(painted):
                    column.follow()
            for kind, piece in splitter.finish():
                turn.add(kind, piece)
        except ChatError as exc:
            turn.failed(str(exc))
            side.messages.append({"role": "assistant", "content": ""})
            return
        response = stream.response
        assert response is not None
        figures = Figures(response.completion_tokens, clock() - started, first, response.finish_reason)
        calls = [(call.name, call.arguments) for call in response.tool_calls]
        await turn.finish(response.text, response.reasoning, calls, figures)
        side.messages.append(answer_message(response))
        column.follow()

    def action_stop(self) -> None:
        """Stop the answers being written (what was written stays); else leave an edit; else leave the message box
        for the transcript (where number keys switch screens again)."""
        box = self.query_one(MessageInput)
        if self.streams:
            for stream in self.streams:
                stream.cancel()
        elif self.editing is not None:
            self.editing = None
            box.clear()
            box.set_mode("user")
        elif self.focused is box or self.query_one(ChatSettings).has_focus_within:
            self.column_focus_asked = True
            self.column(self.sides[0]).focus()

    # conversation actions

    async def _fork(self, index: int) -> None:
        """Drop message ``index`` and everything after it on every side (an edited message replaces it)."""
        self.editing = None
        for side in self.active:
            del side.messages[index:]
            side.trim_images()
            await self.column(side).drop_from(index)

    async def action_regenerate(self) -> None:
        if self.generating or self.loading is not None:
            self.notify("wait for the answer or the model first", severity="warning")
            return
        sides = self.active
        if not all(side.last_is_answer() for side in sides):
            self.notify("there is no answer to write again", severity="warning")
            return
        for side in sides:
            side.messages.pop()
            await self.column(side).drop_from(len(side.messages))
        self._ask()

    def action_edit(self) -> None:
        """Choose an earlier message of yours to change and send again (the conversation forks there)."""
        if self.generating:
            self.notify("an answer is being written: escape stops it", severity="warning")
            return
        side = self.sides[0]
        indices = side.user_indices()
        if not indices:
            self.notify("no message to edit yet", severity="warning")
            return
        choices = [(str(i), f"{n}. {side.messages[i]['content'][:70]!r}") for n, i in enumerate(indices, start=1)]

        def chosen(answer: str | None) -> None:
            if answer is None:
                return
            self.editing = int(answer)
            box = self.query_one(MessageInput)
            box.text = side.messages[self.editing]["content"]
            box.set_mode("edit")
            box.focus()

        self.app.push_screen(ChooseScreen("Edit and resend which message?", "", choices[::-1]), chosen)

    def action_tool_result(self) -> None:
        """Send the next message as a tool result (a ``tool`` message), or back as a user message."""
        box = self.query_one(MessageInput)
        box.set_mode("user" if box.mode == "observation" else "observation")
        box.focus()

    async def action_new(self) -> None:
        if self.generating:
            self.notify("an answer is being written: escape stops it", severity="warning")
            return
        for side in self.sides:
            side.messages = []
            side.images = []
            side.prompt_ids = None
            await self.column(side).clear()
        self.editing = None
        self.pending_images = []
        self._show_pictures()
        self.query_one(MessageInput).set_mode("user")

    def action_picture(self) -> None:
        """Choose a picture file to send with the next message (vision-language models)."""

        def chosen(answer: str | None) -> None:
            if answer is None:
                return
            path = self.workbench.workspace.resolve(answer)
            problem = picture_problem(path)
            if problem is not None:
                self.notify(problem, title="Not attached", severity="error")
                return
            self.pending_images.append(str(path))
            self._show_pictures()
            self.query_one(MessageInput).focus()

        self.app.push_screen(AskScreen("Picture to send with your next message", "a file path"), chosen)

    def _show_pictures(self) -> None:
        """The pictures waiting for the next message, under the message box."""
        names = ", ".join(Path(picture).name for picture in self.pending_images)
        self.query_one(MessageInput).border_subtitle = f"with {names}" if names else ""

    def action_thinking(self) -> None:
        """Unfold (or fold) the reasoning of the last answer of each side."""
        for side in self.active:
            answer = self.column(side).last_answer()
            if answer is not None and answer.reasoning:
                answer.toggle_thinking()

    def _pick_side(self, title: str, then: Callable[[Side], None]) -> None:
        if not self.paired:
            then(self.sides[0])
            return
        choices = [("a", f"[a] A: {self.sides[0].label}"), ("b", f"[b] B: {self.sides[1].label}")]
        self.app.push_screen(
            ChooseScreen(title, "", choices, keys={"a": "a", "b": "b"}),
            lambda answer: then(self.sides[0 if answer == "a" else 1]) if answer else None,
        )

    def action_copy(self) -> None:
        """Copy an answer to the clipboard (OSC 52: works over SSH in terminals that allow it)."""

        def copy(side: Side) -> None:
            answer = self.column(side).last_answer()
            if answer is None or not answer.answer:
                self.notify("no answer to copy yet", severity="warning")
                return
            self.app.copy_to_clipboard(answer.answer)
            self.notify(f"copied {len(answer.answer)} characters of {side.label}'s answer", timeout=3)

        self._pick_side("Copy whose answer?", copy)

    def action_prompt_tokens(self) -> None:
        """Show the last prompt as the model got it, token by token."""

        def show(side: Side) -> None:
            engine = side.engine
            tokenizer = getattr(engine, "tokenizer", None)
            if side.prompt_ids is None or tokenizer is None:
                why = "a server builds its own prompt" if engine is not None and engine.name == "openai" else ""
                self.notify(why or "nothing was sent yet", severity="warning")
                return
            self._prompt_view(side.label, tokenizer, side.prompt_ids)

        self._pick_side("Whose prompt?", show)

    @work(thread=True, exclusive=True, group="tokens", exit_on_error=False, description="Reading the prompt's tokens")
    def _prompt_view(self, label: str, tokenizer: object, ids: list[int]) -> None:
        from lmf_engine.data.inspect import sequence_view

        from .prompt_tokens import PromptTokensScreen

        sequence = sequence_view(tokenizer, "prompt", ids)
        self.app.call_from_thread(self.app.push_screen, PromptTokensScreen(f"What {label} saw", sequence))

    def action_settings(self) -> None:
        """Go to the settings panel (showing it when hidden); from inside it, hide it and go back to the message."""
        panel = self.query_one(ChatSettings)
        if panel.has_focus_within:
            self.add_class("-hide-settings")
            self.query_one(MessageInput).focus()
            return
        self.remove_class("-hide-settings")
        self.call_after_refresh(panel.query_one("#system", TextArea).focus)

    # targets

    def _choose_target(self, title: str, current: ChatTarget | None, then: Callable[[ChatTarget], object]) -> None:
        choices = target_choices(self.workbench.workspace)
        screen = TargetScreen(title, choices, vllm_installed(), current)
        self.app.push_screen(screen, lambda target: then(target) if target is not None else None)

    def action_target(self) -> None:
        if self.generating:
            self.notify("an answer is being written: escape stops it", severity="warning")
            return

        def chosen(target: ChatTarget) -> None:
            self.sides[0].target = target
            self._load()

        self._choose_target("Chat with", self.sides[0].target, chosen)

    async def action_ab(self) -> None:
        """Start A/B (choose side B's target), or go back to one side."""
        if self.generating:
            self.notify("an answer is being written: escape stops it", severity="warning")
            return
        if self.paired:
            side_b = self.sides[1]
            if side_b.engine is not None and side_b.engine is not self.sides[0].engine:
                await side_b.engine.aclose()
            side_b.engine, side_b.engine_target, side_b.target, side_b.messages = None, None, None, []
            await self.column(side_b).clear()
            self.paired = False
            self.remove_class("-ab")
            self._show_states()
            return

        async def chosen(target: ChatTarget) -> None:
            side_a, side_b = self.sides
            side_b.target = target
            side_b.messages = list(side_a.messages)
            await self._replay(side_b, f"written by {side_a.label} (before A/B)")
            self.paired = True
            self.add_class("-ab")
            self._load()
            self.query_one(MessageInput).focus()

        self._choose_target("Side B: chat with", self.sides[0].target, lambda t: self.run_worker(chosen(t)))

    # files

    def _chats_dir(self) -> Path:
        return self.workbench.workspace.root / CHATS_FOLDER

    def action_save(self) -> None:
        if not any(side.messages for side in self.active):
            self.notify("nothing to save yet", severity="warning")
            return
        default = f"{CHATS_FOLDER}/chat-{time.strftime('%Y%m%d-%H%M%S')}.json"
        self.app.push_screen(AskScreen("Save the conversation as", "file.json", default), self._save)

    def _save(self, answer: str | None) -> None:
        if not answer:
            return
        path = self.workbench.workspace.resolve(answer)
        panel = self.query_one(ChatSettings)
        try:
            conversation = conversation_of(self.active, panel.system(), panel.overrides(), panel.tools())
            path.parent.mkdir(parents=True, exist_ok=True)
            save_conversation(path, conversation)
        except SettingProblem as exc:
            self.notify(f"cannot save: {exc}", severity="error")
            return
        except OSError as exc:
            self.notify(f"cannot save {path}: {exc.strerror or exc}", severity="error")
            return
        self.notify(f"saved to {self.workbench.workspace.display(path)}", timeout=4)

    def action_load(self) -> None:
        if self.generating:
            self.notify("an answer is being written: escape stops it", severity="warning")
            return
        folder = self._chats_dir()
        files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True) if folder.is_dir() else []
        choices = [(self.workbench.workspace.display(p), str(p)) for p in files[:20]]
        screen = AskScreen("Load a conversation (OpenAI messages JSON, as /save writes)", "file.json", "", choices)
        self.app.push_screen(screen, lambda answer: self.run_worker(self._load_file(answer)) if answer else None)

    async def _load_file(self, answer: str) -> None:
        path = self.workbench.workspace.resolve(answer)
        try:
            conversation = load_conversation(path)
        except (OSError, ValueError) as exc:
            self.notify(f"cannot load {path}: {exc}", severity="error")
            return
        self.query_one(ChatSettings).apply(conversation.settings, conversation.system, conversation.tools)
        for side, history in zip(self.active, histories_of(conversation, len(self.active)), strict=True):
            side.messages = history
            side.prompt_ids = None
            await self._replay(side, f"loaded from {self.workbench.workspace.display(path)}")
        if len(conversation.branches) > 1 and not self.paired:
            self.notify("an A/B conversation: its first side is loaded (ctrl+b to compare)", timeout=5)
        if self.sides[0].last_is_answer() and self.sides[0].messages[-1]["role"] == "function":
            self.query_one(MessageInput).set_mode("observation")

    async def _replay(self, side: Side, origin: str) -> None:
        """Show a side's history as turns (after loading a file or starting A/B); ``origin`` marks old answers."""
        column = self.column(side)
        await column.clear()
        for index, message in enumerate(side.messages):
            if message["role"] in ("user", "observation"):
                await column.add_user(message["content"], message["role"], index)
                continue
            turn = await column.add_answer()
            await turn.show_saved(*saved_answer(message), origin)

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            PaletteCommand("Chat: choose the model", "A run, a config or a server", self.action_target),
            PaletteCommand("Chat: A/B", "Send each prompt to two targets side by side", self.action_ab),
            PaletteCommand("Chat: reset settings", "Back to the model's defaults", self._reset_settings),
            PaletteCommand("Chat: new conversation", "Forget the messages", self.action_new),
            PaletteCommand("Chat: save", "OpenAI messages JSON", self.action_save),
            PaletteCommand("Chat: load", "A file saved here or by the REPL", self.action_load),
            PaletteCommand("Chat: what the model saw", "The last prompt as tokens", self.action_prompt_tokens),
        ]

    def _reset_settings(self) -> None:
        self.query_one(ChatSettings).reset()

    async def on_unmount(self) -> None:
        for side in self.sides:
            if side.engine is not None:
                await side.engine.aclose()
                side.engine = None
