"""Thread-to-loop handoff and the generation worker thread."""

import asyncio
import gc
import sys
import threading
import time

import pytest

from lmf_engine.chat.handoff import Handoff, Worker


async def test_items_posted_before_a_take_come_together() -> None:
    handoff = Handoff()
    handoff.post("a")
    assert await handoff.take() == ["a"]
    handoff.post("b")
    handoff.post("c")
    assert await asyncio.wait_for(handoff.take(), 5) == ["b", "c"]


async def test_items_from_another_thread_arrive_in_order() -> None:
    handoff = Handoff()

    def produce() -> None:
        for i in range(500):
            handoff.post(i)
        handoff.post(None)

    threading.Thread(target=produce).start()
    seen: list[int | None] = []
    while not seen or seen[-1] is not None:
        seen += await asyncio.wait_for(handoff.take(), 10)
    assert seen == [*range(500), None]


async def test_the_first_post_waits_until_the_consumer_took_it() -> None:
    handoff = Handoff()
    returned: list[float] = []
    interval = sys.getswitchinterval()
    sys.setswitchinterval(2.0)  # the longest the poster waits
    try:
        thread = threading.Thread(target=lambda: (handoff.post("first"), returned.append(time.monotonic())))
        thread.start()
        await asyncio.sleep(0.1)
        assert not returned
        assert await handoff.take() == ["first"]
        taken = time.monotonic()
        await asyncio.to_thread(thread.join, 5)
    finally:
        sys.setswitchinterval(interval)
    assert returned and returned[0] >= taken


def test_a_closed_loop_is_reported() -> None:
    loop = asyncio.new_event_loop()
    try:
        handoff = loop.run_until_complete(_make())
    finally:
        loop.close()
    assert handoff.post("late") is False


async def _make() -> Handoff:
    return Handoff()


def test_worker_runs_calls_in_order_in_one_thread() -> None:
    worker = Worker("test-worker")
    seen: list[tuple[int, str]] = []
    for i in range(5):
        worker.submit(lambda i=i: seen.append((i, threading.current_thread().name)))
    assert worker.call(lambda: "done").result(timeout=5) == "done"
    assert seen == [(i, "test-worker") for i in range(5)]
    worker.close()
    with pytest.raises(RuntimeError):
        worker.submit(lambda: None)


def test_worker_hands_errors_to_the_future_and_survives_a_failing_job(capsys: pytest.CaptureFixture[str]) -> None:
    worker = Worker("test-worker")
    with pytest.raises(ZeroDivisionError):
        worker.call(lambda: 1 / 0).result(timeout=5)
    worker.submit(lambda: [][1])
    assert worker.call(lambda: 42).result(timeout=5) == 42
    assert "IndexError" in capsys.readouterr().err
    worker.close()


def test_worker_thread_ends_when_the_worker_is_collected() -> None:
    worker = Worker("test-collected-worker")
    assert worker.call(threading.current_thread).result(timeout=5).name == "test-collected-worker"
    thread = next(t for t in threading.enumerate() if t.name == "test-collected-worker")
    del worker
    gc.collect()
    thread.join(5)
    assert not thread.is_alive()
