"""The engine interface every back end implements: ``chat``, ``stream_chat`` and ``stop``.

A back end only writes :meth:`ChatEngine._generate`, an async generator of text chunks that fills in the
:class:`Generation` it is given (raw text, token counts, finish reason). The base class checks the request, queues
generations one at a time per engine, applies stop strings, and splits reasoning and tool calls off the answer.

    engine = create_engine(config)
    response = await engine.chat([{"role": "user", "content": "Hi"}], temperature=0.2)
    stream = engine.stream_chat(messages)
    async for text in stream:
        print(text, end="")
    print(stream.response.finish_reason)
"""

import asyncio
import contextlib
import threading
import weakref
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .errors import BackendUnavailable, ChatError, RequestError
from .messages import MessageLike, normalize_messages, with_image_placeholders
from .settings import STOP, merge_settings
from .text import DEFAULT_THOUGHT_WORDS, StopTrimmer, cut_at_stop, split_reasoning

if TYPE_CHECKING:
    from lmf_engine.data.example import Message
    from lmf_engine.data.templates import FunctionCall, Template

FinishReason = Literal["stop", "length", "cancelled"]
STREAM_INTERVAL_S = 0.02
"""Longest a streamed token waits for company before its text goes out (after the first, which never waits)."""


@dataclass
class Response:
    """One answer. ``text`` is the answer without reasoning; ``raw_text`` what the model wrote (after stop strings).

    ``tool_calls`` holds the calls parsed from the answer when tools were given and the template has a tool format.
    """

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason
    reasoning: str = ""
    tool_calls: list["FunctionCall"] = field(default_factory=list)
    raw_text: str = ""


@dataclass
class Request:
    """A checked chat request: messages, system prompt, tools (JSON text), resolved settings, prompt ids if built."""

    messages: list["Message"]
    system: str | None
    tools: str | None
    settings: dict[str, Any]
    prompt_ids: list[int] | None = None
    overrides: frozenset[str] = frozenset()
    images: list[Any] = field(default_factory=list)
    """Images of the conversation (paths or PIL images), one per ``<image>`` placeholder of its messages."""
    model_inputs: dict[str, Any] = field(default_factory=dict)
    """Model inputs besides the prompt ids (a multimodal back end's ``pixel_values`` ...)."""


@dataclass
class Generation:
    """What a back end reports about one generation, and its cancel flag (safe to set from any thread)."""

    cancel_event: threading.Event = field(default_factory=threading.Event)
    raw_text: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: FinishReason = "length"
    reasoning: str = ""
    tool_calls: list["FunctionCall"] = field(default_factory=list)
    done: bool = False

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def cancel(self) -> None:
        """Ask the back end to end this generation at the next token (no effect once it is done)."""
        if not self.done:
            self.cancel_event.set()


class ChatStream:
    """An async iterator of answer text chunks; :attr:`response` holds the full :class:`Response` once it ends.

    Closing it early (``aclose``, or a client that goes away) cancels its generation.
    """

    def __init__(self, engine: "ChatEngine", request: Request, stream: bool = True) -> None:
        self.engine = engine
        self.request = request
        self.generation = Generation()
        self.response: Response | None = None
        self._stream = stream
        self._agen = self._run()

    def __aiter__(self) -> "ChatStream":
        return self

    async def __anext__(self) -> str:
        return await self._agen.__anext__()

    def cancel(self) -> None:
        """Stop this generation (the iterator then ends with finish reason ``cancelled``)."""
        self.generation.cancel()

    async def aclose(self) -> None:
        """Cancel the generation if it still runs and release the engine."""
        self.cancel()
        await self._agen.aclose()

    async def _run(self) -> AsyncGenerator[str, None]:
        engine, gen = self.engine, self.generation
        trimmer = StopTrimmer(self.request.settings.get(STOP))
        try:
            async with engine._queue_lock():
                engine._current = gen
                async with contextlib.aclosing(engine._generate(self.request, gen, self._stream)) as chunks:
                    async for chunk in chunks:
                        if text := trimmer.feed(chunk):
                            yield text
                        if trimmer.stopped:
                            gen.cancel()
                gen.done = True
                if text := trimmer.finish():
                    yield text
        finally:
            gen.cancel()
            if engine._current is gen:
                engine._current = None
        self.response = engine._response(self.request, gen, trimmer.stopped)


class ChatEngine(ABC):
    """A model that answers chats. Generations run one at a time per engine; later requests wait their turn.

    ``name`` is the back end (huggingface, vllm, openai), ``model_name`` what the API lists, ``template`` the chat
    template (None for a remote server), ``context_length`` the model's longest sequence when known.
    """

    name: str = ""
    model_name: str = "model"
    template: "Template | None" = None
    context_length: int | None = None
    can_generate: bool = True
    can_score: bool = False
    takes_images: bool = False
    stream_interval: float = STREAM_INTERVAL_S
    """How long streamed text may wait for company, for back ends that gather it (:data:`STREAM_INTERVAL_S`; the first
    text of an answer never waits): a screen that paints ten times a second asks for 0.1, sparing the generating
    thread the hand-overs nobody would see."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings = dict(settings)
        self._current: Generation | None = None
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    def _queue_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if loop not in self._locks:
            self._locks[loop] = asyncio.Lock()
        return self._locks[loop]

    def request(
        self, messages: Sequence[MessageLike], system: str | None = None, tools: str | None = None, **gen: Any
    ) -> Request:
        """Check a chat request (:class:`RequestError` when it is malformed) and resolve its settings."""
        if not self.can_generate:
            raise BackendUnavailable("this model is a reward model (stage: rm): it scores texts and cannot chat")
        images = list(gen.pop("images", None) or [])
        items, system = normalize_messages(messages, system)
        if images:
            if not self.takes_images:
                raise RequestError(
                    f"this model ({self.model_name}, {self.name} back end) takes text only; images need a "
                    "vision-language model and its multimodal template",
                    "messages",
                )
            items = with_image_placeholders(items, len(images))
        settings = merge_settings(self.settings, gen)
        if gen.get("max_length") is not None and gen.get("max_new_tokens") is None:
            settings["max_new_tokens"] = None  # a request's max_length wins over the config's max_new_tokens
        overrides = frozenset(key for key, value in gen.items() if value is not None)
        return Request(items, system, tools or None, settings, overrides=overrides, images=images)

    def stream_chat(
        self, messages: Sequence[MessageLike], system: str | None = None, tools: str | None = None, **gen: Any
    ) -> ChatStream:
        """Start a streamed answer; iterate the result for text chunks, then read its ``response``."""
        return ChatStream(self, self.request(messages, system, tools, **gen))

    async def chat(
        self, messages: Sequence[MessageLike], system: str | None = None, tools: str | None = None, **gen: Any
    ) -> Response:
        """The whole answer at once."""
        stream = ChatStream(self, self.request(messages, system, tools, **gen), stream=False)
        try:
            async for _ in stream:
                pass
        finally:
            await stream.aclose()
        assert stream.response is not None
        return stream.response

    def stop(self) -> None:
        """End the current generation now (from any thread); its answer finishes with reason ``cancelled``."""
        current = self._current
        if current is not None:
            current.cancel()

    async def score(self, texts: Sequence[str], max_length: int | None = None) -> list[float]:
        """Reward scores of whole texts (reward models only)."""
        raise BackendUnavailable(f"the {self.name} back end cannot score texts; load a reward model (stage: rm)")

    async def aclose(self) -> None:  # noqa: B027  (most back ends hold nothing to release)
        """Release what the back end holds (connections, engines)."""

    @abstractmethod
    def _generate(self, request: Request, generation: Generation, stream: bool) -> AsyncGenerator[str, None]:
        """Generate one answer: yield text chunks (when ``stream``) and fill in ``generation``.

        Must end soon after ``generation.cancelled`` becomes true, with ``finish_reason`` ``cancelled``.
        """

    def thought_words(self) -> tuple[tuple[str, str], bool]:
        """The words around reasoning in this model's answers, and whether only the closing word marks it."""
        if self.template is None:
            return DEFAULT_THOUGHT_WORDS, False
        return self.template.thought_words, self.template.reasoning == "think_close_only"

    def _response(self, request: Request, gen: Generation, stopped: bool) -> Response:
        raw, found = cut_at_stop(gen.raw_text, request.settings.get(STOP))
        finish: FinishReason = "stop" if found or stopped else gen.finish_reason
        words, close_only = self.thought_words()
        reasoning, answer = split_reasoning(raw, words, close_only)
        reasoning = gen.reasoning or reasoning
        calls = list(gen.tool_calls)
        if request.tools and not calls and self.template is not None and self.template.tools_slots is None:
            extracted = self.template.extract_tool(answer)
            if isinstance(extracted, list):
                calls = extracted
        return Response(answer, gen.prompt_tokens, gen.completion_tokens, finish, reasoning, calls, raw)


__all__ = ["ChatEngine", "ChatError", "ChatStream", "FinishReason", "Generation", "Request", "Response"]
