"""The sampler: its thread samples while someone is subscribed, hands samples to subscribers, survives their errors."""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from lmf_engine.monitor.sampler import Sampler
from lmf_engine.monitor.samples import SystemSample

INTERVAL = 0.02


class CountingSource:
    """A source whose n-th reading has ``t == n``; ``fail`` makes readings raise."""

    def __init__(self) -> None:
        self.reads = 0
        self.closed = False
        self.fail = False

    def read(self) -> SystemSample:
        if self.fail:
            raise RuntimeError("sensor unplugged")
        self.reads += 1
        return SystemSample(t=float(self.reads))

    def close(self) -> None:
        self.closed = True


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def sampler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "lmf-monitor-sampler"]


def test_sample_now_keeps_the_latest_and_notifies() -> None:
    sampler = Sampler(CountingSource(), interval=INTERVAL)
    seen: list[float] = []
    sampler.subscribe(lambda sample: seen.append(sample.t))
    assert sampler.latest is None
    assert sampler.sample_now().t == 1.0
    assert sampler.latest is not None and sampler.latest.t == 1.0 and seen == [1.0]


def test_the_thread_samples_only_while_subscribed() -> None:
    source = CountingSource()
    sampler = Sampler(source, interval=INTERVAL)
    sampler.start()
    sampler.start()
    assert len(sampler_threads()) == 1, "start is idempotent"
    time.sleep(5 * INTERVAL)
    assert source.reads == 0, "no subscriber: no sampling"
    seen: list[float] = []
    unsubscribe = sampler.subscribe(lambda sample: seen.append(sample.t))
    wait_until(lambda: len(seen) >= 3)
    assert seen == sorted(seen) and sampler.latest is not None
    unsubscribe()
    unsubscribe()
    stopped_at = source.reads
    time.sleep(5 * INTERVAL)
    assert source.reads <= stopped_at + 1, "unsubscribed: the thread sleeps"
    again: list[float] = []
    sampler.subscribe(lambda sample: again.append(sample.t))
    wait_until(lambda: again)
    sampler.stop()
    assert sampler_threads() == []
    count = source.reads
    time.sleep(5 * INTERVAL)
    assert source.reads == count
    sampler.start()
    wait_until(lambda: source.reads > count)
    sampler.close()
    assert source.closed and sampler_threads() == []


def test_a_failing_subscriber_is_logged_once_and_others_go_on(caplog: pytest.LogCaptureFixture) -> None:
    sampler = Sampler(CountingSource(), interval=INTERVAL)

    def broken(sample: SystemSample) -> None:
        raise ValueError("widget gone")

    seen: list[float] = []
    sampler.subscribe(broken)
    sampler.subscribe(lambda sample: seen.append(sample.t))
    with caplog.at_level(logging.WARNING, logger="lmf_engine.monitor.sampler"):
        sampler.start()
        wait_until(lambda: len(seen) >= 3)
        sampler.stop()
    failures = [r for r in caplog.records if "subscriber failed" in r.getMessage()]
    assert len(failures) == 1 and "widget gone" in caplog.text


def test_a_failing_source_does_not_stop_the_thread(caplog: pytest.LogCaptureFixture) -> None:
    source = CountingSource()
    source.fail = True
    sampler = Sampler(source, interval=INTERVAL)
    sampler.subscribe(lambda sample: None)
    with caplog.at_level(logging.WARNING, logger="lmf_engine.monitor.sampler"):
        sampler.start()
        time.sleep(5 * INTERVAL)
        source.fail = False
        wait_until(lambda: source.reads >= 2)
        sampler.stop()
    assert [r.getMessage() for r in caplog.records] == [
        "Sampling failed (RuntimeError: sensor unplugged); the sampler goes on"
    ]


def test_stop_from_a_subscriber_does_not_deadlock() -> None:
    sampler = Sampler(CountingSource(), interval=INTERVAL)
    results: list[bool] = []
    sampler.subscribe(lambda sample: results.append(sampler.stop()))
    sampler.start()
    wait_until(lambda: results)
    wait_until(lambda: not sampler_threads())
    assert results == [False]


@pytest.mark.parametrize("interval", [0.0, -1.0, float("nan")])
def test_the_interval_must_be_positive(interval: float) -> None:
    with pytest.raises(ValueError, match="expected a number of seconds greater than 0"):
        Sampler(CountingSource(), interval=interval)
