"""Streamed chat completions: server-sent events, and a response that stops the generation when the client leaves.

The events are OpenAI's: a first chunk with the assistant role, content chunks (reasoning as ``reasoning_content``),
a last chunk with the true ``finish_reason``, a usage chunk when ``stream_options.include_usage``, then ``[DONE]``.
With tools the answer is held until it ends, so that tool calls go out as ``tool_calls`` rather than as text.
"""

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from lmf_engine.chat.engine import ChatStream
from lmf_engine.chat.errors import ChatError
from lmf_engine.chat.text import ThoughtSplitter

from .convert import chunk, finish_reason, sse, tool_calls
from .errors import error_body

log = logging.getLogger(__name__)

DELTA_KEYS = {"reasoning": "reasoning_content", "content": "content"}


class EventStreamResponse(StreamingResponse):
    """A ``text/event-stream`` response that watches for the client going away whatever the ASGI version.

    When the client disconnects the body iterator is cancelled, then closed, so the generation behind it stops.
    """

    media_type = "text/event-stream"

    def __init__(self, content: AsyncIterator[str]) -> None:
        super().__init__(content, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self._events = content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:

                async def stream() -> None:
                    with contextlib.suppress(OSError):  # the client went away while we were sending
                        await self.stream_response(send)
                    group.cancel_scope.cancel()

                async def watch() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    group.cancel_scope.cancel()

                group.start_soon(stream)
                group.start_soon(watch)
        finally:
            with anyio.CancelScope(shield=True):
                await self._events.aclose()  # type: ignore[attr-defined]


async def chat_events(
    stream: ChatStream, completion_id: str, model: str, hold_for_tools: bool, include_usage: bool
) -> AsyncIterator[str]:
    """The events of one streamed answer."""
    try:
        yield sse(chunk(completion_id, model, {"role": "assistant", "content": ""}))
        splitter = ThoughtSplitter(stream.engine.thought_words()[0])
        async for text in stream:
            if hold_for_tools:
                continue
            for kind, piece in splitter.feed(text):
                yield sse(chunk(completion_id, model, {DELTA_KEYS[kind]: piece}))
        for kind, piece in splitter.finish():
            yield sse(chunk(completion_id, model, {DELTA_KEYS[kind]: piece}))
        response = stream.response
        assert response is not None
        if hold_for_tools:
            for delta in _held_deltas(response):
                yield sse(chunk(completion_id, model, delta))
        yield sse(chunk(completion_id, model, {}, finish_reason(response)))
        if include_usage:
            usage = {
                "prompt_tokens": response.prompt_tokens,
                "completion_tokens": response.completion_tokens,
                "total_tokens": response.prompt_tokens + response.completion_tokens,
            }
            yield sse({**chunk(completion_id, model, {}), "choices": [], "usage": usage})
        yield sse("[DONE]")
    except ChatError as exc:
        yield sse(error_body(502, str(exc)))
    except Exception as exc:
        log.exception("generation failed")
        yield sse(error_body(500, f"generation failed: {type(exc).__name__}"))
    finally:
        await stream.aclose()


def _held_deltas(response: Any) -> list[dict[str, Any]]:
    deltas: list[dict[str, Any]] = []
    if response.reasoning:
        deltas.append({"reasoning_content": response.reasoning})
    if response.tool_calls:
        calls = [dict(call.model_dump(), index=i) for i, call in enumerate(tool_calls(response.tool_calls))]
        deltas.append({"tool_calls": calls})
    elif response.text:
        deltas.append({"content": response.text})
    return deltas
