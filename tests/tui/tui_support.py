"""Helpers shared by the TUI tests."""

import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

SIZE = (120, 40)


async def settle(pilot: Pilot) -> None:
    """Wait until every worker is done and the screen has caught up with their messages."""
    app = pilot.app
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause(0.05)


async def wait_until(pilot: Pilot, predicate: Callable[[], Any], timeout: float = 15.0, step: float = 0.05) -> Any:
    """Let the app run until ``predicate()`` is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        await pilot.pause(step)
