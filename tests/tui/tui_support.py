"""Helpers shared by the TUI tests."""

from textual.pilot import Pilot

SIZE = (120, 40)


async def settle(pilot: Pilot) -> None:
    """Wait until every worker is done and the screen has caught up with their messages."""
    app = pilot.app
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause(0.05)
