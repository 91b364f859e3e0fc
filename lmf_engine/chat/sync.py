"""A blocking face of an engine for terminal code: the engine runs on its own event loop in a background thread.

Ctrl-C in the caller's thread interrupts the wait for the next chunk, not the generation; the caller then calls
:meth:`SyncEngine.stop` and keeps reading, and the stream ends at once with finish reason ``cancelled``.
"""

import asyncio
import queue
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from typing import Any

from .engine import ChatEngine, ChatStream, Response
from .messages import MessageLike


class SyncStream(Iterator[str]):
    """Text chunks of one answer; :attr:`response` once it has ended.

    A task on the engine's loop reads the answer into a queue that :meth:`__next__` waits on, so a Ctrl-C in the
    caller's thread interrupts only that wait: the answer's state is never left half-updated between threads.
    """

    def __init__(self, owner: "SyncEngine", stream: ChatStream) -> None:
        self._stream = stream
        self._items: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._ended = False
        owner.submit(self._pump())

    async def _pump(self) -> None:
        try:
            async for chunk in self._stream:
                self._items.put(("chunk", chunk))
        except Exception as exc:
            self._items.put(("error", exc))
        else:
            self._items.put(("end", None))

    def __next__(self) -> str:
        if self._ended:
            raise StopIteration
        kind, value = self._items.get()
        if kind == "chunk":
            return value
        self._ended = True
        if kind == "error":
            raise value
        raise StopIteration

    @property
    def response(self) -> Response | None:
        return self._stream.response

    def cancel(self) -> None:
        """End this answer now (safe while another thread waits for its next chunk); iteration then ends."""
        self._stream.cancel()


class SyncEngine:
    """Runs ``engine`` on a private event loop; every call blocks until its answer (or next chunk) is ready."""

    def __init__(self, engine: ChatEngine) -> None:
        self.engine = engine
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="lmf-chat-loop", daemon=True)
        self._thread.start()

    def submit(self, coro: Any) -> Future[Any]:
        """Schedule a coroutine on the engine's loop."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def chat(
        self, messages: Sequence[MessageLike], system: str | None = None, tools: str | None = None, **gen: Any
    ) -> Response:
        return self.submit(self.engine.chat(messages, system, tools, **gen)).result()

    def stream(
        self, messages: Sequence[MessageLike], system: str | None = None, tools: str | None = None, **gen: Any
    ) -> SyncStream:
        """Start a streamed answer (a malformed request raises here, before anything runs)."""
        return SyncStream(self, self.engine.stream_chat(messages, system, tools, **gen))

    def stop(self) -> None:
        """End the current answer now."""
        self.engine.stop()

    def close(self) -> None:
        """Release the engine and stop the loop."""
        self.submit(self.engine.aclose()).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
