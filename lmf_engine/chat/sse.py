"""Server-sent events: parsing a ``text/event-stream`` line by line (the OpenAI streaming format)."""

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass


@dataclass
class Event:
    """One event: its ``data`` lines joined by newlines, and its ``event`` name when the server sent one."""

    data: str
    event: str = "message"


class SSEParser:
    """Feeds lines of a stream and returns each complete event (an empty line ends an event).

    Comment lines (``:`` first) are ignored; ``data:`` lines accumulate; ``id`` and ``retry`` are not needed here.
    """

    def __init__(self) -> None:
        self._data: list[str] = []
        self._event = "message"

    def feed(self, line: str) -> Event | None:
        line = line.rstrip("\r\n")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        return None

    def _dispatch(self) -> Event | None:
        if not self._data:
            self._event = "message"
            return None
        event = Event("\n".join(self._data), self._event)
        self._data, self._event = [], "message"
        return event

    def finish(self) -> Event | None:
        """The last event when the stream ended without a blank line."""
        return self._dispatch()


async def iter_events(lines: AsyncIterable[str]) -> AsyncIterator[Event]:
    """The events of a stream of lines."""
    parser = SSEParser()
    async for line in lines:
        if (event := parser.feed(line)) is not None:
            yield event
    if (event := parser.finish()) is not None:
        yield event
