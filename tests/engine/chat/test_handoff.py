"""Thread-to-loop handoff: the first piece at once, later pieces batched, final items never held back."""

import asyncio
import threading

from lmf_engine.chat.handoff import Handoff


async def test_first_item_wakes_at_once_and_later_ones_are_batched() -> None:
    handoff = Handoff(min_interval=60.0)
    handoff.post("a")
    assert await handoff.take() == ["a"]
    handoff.post("b")
    handoff.post("c")
    assert not handoff._ready.is_set()
    handoff.post("end", urgent=True)
    assert await asyncio.wait_for(handoff.take(), 5) == ["b", "c", "end"]


async def test_items_from_another_thread_arrive_in_order() -> None:
    handoff = Handoff(min_interval=0.0)

    def produce() -> None:
        for i in range(500):
            handoff.post(i)
        handoff.post(None, urgent=True)

    threading.Thread(target=produce).start()
    seen: list[int | None] = []
    while not seen or seen[-1] is not None:
        seen += await asyncio.wait_for(handoff.take(), 10)
    assert seen == [*range(500), None]


def test_a_closed_loop_is_reported() -> None:
    loop = asyncio.new_event_loop()
    try:
        handoff = loop.run_until_complete(_make())
    finally:
        loop.close()
    assert handoff.post("late") is False


async def _make() -> Handoff:
    return Handoff()
