"""Handing items from a worker thread to an asyncio consumer, waking the event loop once per batch.

A generation thread posts text pieces; the consumer takes everything posted since it last looked. The loop is woken
only when the buffer goes from empty to non-empty, so a busy consumer costs the generating thread nothing extra.
"""

import asyncio
import threading
from typing import Any


class Handoff:
    """A thread-safe buffer with an awaitable ``take`` (create it in the consumer's event loop)."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._ready = asyncio.Event()
        self._lock = threading.Lock()
        self._items: list[Any] = []

    def post(self, item: Any) -> bool:
        """Add ``item`` (from any thread); False when the consumer's loop is closed."""
        with self._lock:
            self._items.append(item)
            if len(self._items) > 1:
                return True  # a wake-up is already on its way
        try:
            self._loop.call_soon_threadsafe(self._ready.set)
        except RuntimeError:
            return False
        return True

    async def take(self) -> list[Any]:
        """Everything posted since the last call, in order (waits for at least one item)."""
        while True:
            await self._ready.wait()
            self._ready.clear()
            with self._lock:
                items, self._items = self._items, []
            if items:
                return items
