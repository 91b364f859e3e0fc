"""Handing work to a long-lived worker thread, and its results back to an asyncio consumer.

:class:`Worker` runs calls in order in one thread: starting a thread per answer costs torch several milliseconds
before its first token, and a ``ThreadPoolExecutor`` costs tens of microseconds more per call than a bare queue.

A generation thread posts items to a :class:`Handoff`; the consumer takes everything posted since it last looked.
Each post wakes the consumer unless a wake-up is already on its way (posters keep their rate down themselves: waking
the loop makes its thread compete for the GIL with the generating thread). After the first wake-up the posting thread
waits (GIL released) until the consumer has taken the item, for at most one GIL switch interval. Otherwise the woken
loop thread asks for the GIL while the generating thread keeps taking it back between torch ops, and the first chunk
can wait up to the whole switch interval (5 ms) to be seen.
"""

import asyncio
import queue
import sys
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class Worker:
    """One daemon thread that runs submitted calls one after another (started on the first call).

    The thread ends after :meth:`close`, or once the worker is garbage-collected and its queue has run dry.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._started = False
        self._closed = False
        weakref.finalize(self, self._jobs.put, None)

    def submit(self, job: Callable[[], None]) -> None:
        """Queue ``job``; it must handle its own errors (an escaping exception is printed, the thread goes on)."""
        if self._closed:
            raise RuntimeError(f"{self.name} is closed")
        if not self._started:
            threading.Thread(target=_run_jobs, args=(self._jobs,), name=self.name, daemon=True).start()
            self._started = True
        self._jobs.put(job)

    def call(self, fn: Callable[..., T], *args: Any) -> "Future[T]":
        """Queue ``fn(*args)``; its result or error arrives in the returned future."""
        future: Future[T] = Future()

        def job() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # handed to whoever waits on the future
                future.set_exception(exc)

        self.submit(job)
        return future

    def close(self) -> None:
        """Let the thread end once the queued calls have run; later submissions raise ``RuntimeError``."""
        if not self._closed:
            self._closed = True
            self._jobs.put(None)


def _run_jobs(jobs: "queue.SimpleQueue[Callable[[], None] | None]") -> None:
    """The worker thread: run jobs until the end marker (it holds the queue, never the worker)."""
    while (job := jobs.get()) is not None:
        try:
            job()
        except Exception:
            sys.excepthook(*sys.exc_info())
        del job


class Handoff:
    """A thread-safe buffer with an awaitable ``take`` (create it in the consumer's event loop)."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._ready = asyncio.Event()
        self._taken = threading.Event()
        self._lock = threading.Lock()
        self._items: list[Any] = []
        self._scheduled = False
        self._woken = False

    def post(self, item: Any) -> bool:
        """Add ``item`` and wake the consumer (from any thread); False when the consumer's loop is closed."""
        with self._lock:
            self._items.append(item)
            if self._scheduled:
                return True
            first, self._scheduled, self._woken = not self._woken, True, True
        try:
            self._loop.call_soon_threadsafe(self._ready.set)
        except RuntimeError:
            return False
        if first and threading.get_ident() != self._loop_thread:
            self._taken.wait(sys.getswitchinterval())
        return True

    async def take(self) -> list[Any]:
        """Everything posted until the consumer was woken, in order (waits for a wake-up)."""
        while True:
            await self._ready.wait()
            self._ready.clear()
            with self._lock:
                items, self._items, self._scheduled = self._items, [], False
            if items:
                self._taken.set()
                return items
