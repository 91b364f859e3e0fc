"""Parsing server-sent events."""

import asyncio

from lmf_engine.chat.sse import Event, SSEParser, iter_events


def test_events_end_at_blank_lines_and_join_data_lines() -> None:
    parser = SSEParser()
    lines = [": comment", "event: update", "data: a", "data:b", "", "data: [DONE]", ""]
    events = [e for e in (parser.feed(line) for line in lines) if e is not None]
    assert events == [Event("a\nb", "update"), Event("[DONE]")]


def test_a_last_event_without_a_blank_line_is_kept() -> None:
    async def lines():
        for line in ["data: {}\r\n", "\r\n", "data: tail"]:
            yield line

    async def collect() -> list[Event]:
        return [event async for event in iter_events(lines())]

    assert asyncio.run(collect()) == [Event("{}"), Event("tail")]
