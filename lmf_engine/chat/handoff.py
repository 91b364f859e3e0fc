"""Handing items from a worker thread to an asyncio consumer with few event-loop wake-ups.

A generation thread posts text pieces; the consumer takes everything posted since it last looked. Waking the loop
makes its thread compete for the GIL with the generating thread, which slows a fast model's generation measurably
when done for every token. So the first item wakes the consumer at once (time to first token), later ones at most
once per ``min_interval`` seconds (items in between wait for the next post), and a final item (``urgent``) always.
After the first wake-up the posting thread yields the GIL (``time.sleep(0)``), so the first chunk need not wait
until the generating thread happens to release it.
"""

import asyncio
import threading
import time
from typing import Any

MIN_INTERVAL_S = 0.02
"""Longest a streamed piece waits for company: 50 updates a second still reads as smooth streaming."""


class Handoff:
    """A thread-safe buffer with an awaitable ``take`` (create it in the consumer's event loop)."""

    def __init__(self, min_interval: float = MIN_INTERVAL_S) -> None:
        self._loop = asyncio.get_running_loop()
        self._ready = asyncio.Event()
        self._lock = threading.Lock()
        self._items: list[Any] = []
        self._scheduled = False
        self._last_wake = float("-inf")
        self.min_interval = min_interval

    def post(self, item: Any, urgent: bool = False) -> bool:
        """Add ``item`` (from any thread); False when the consumer's loop is closed.

        The consumer is woken unless a wake-up is already on its way or, for an item that is not ``urgent``, one
        went out less than ``min_interval`` ago (the next post wakes it then).
        """
        now = time.monotonic()
        with self._lock:
            self._items.append(item)
            if self._scheduled or (not urgent and now - self._last_wake < self.min_interval):
                return True
            first = self._last_wake == float("-inf")
            self._scheduled, self._last_wake = True, now
        try:
            self._loop.call_soon_threadsafe(self._ready.set)
        except RuntimeError:
            return False
        if first:
            time.sleep(0)
        return True

    async def take(self) -> list[Any]:
        """Everything posted until the consumer was woken, in order (waits for a wake-up)."""
        while True:
            await self._ready.wait()
            self._ready.clear()
            with self._lock:
                items, self._items, self._scheduled = self._items, [], False
            if items:
                return items
