"""SVG snapshots of the train, runs, run and compare views: fake runs with fixed times and losses, GPU samples
replayed from a recorded file (two H200s), the clock's time zone fixed to UTC.

Update after an intended change with ``pytest tests/tui/test_run_snapshots.py --snapshot-update`` and review them.
"""

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fixtures.fake_runs import write_fake_run
from textual.pilot import Pilot
from tui_support import SIZE, settle, wait_until

from lmf_engine.monitor.sampler import Sampler
from lmf_engine.monitor.sources import ReplaySource
from lmf_tui.app import WorkbenchApp
from lmf_tui.widgets.metric_chart import MetricChart
from lmf_tui.widgets.runs_table import RunsTable

GPU_SAMPLES = Path(__file__).parents[1] / "fixtures" / "gpu_samples.jsonl"


@pytest.fixture
def runs_app(
    make_app: Callable[..., WorkbenchApp], workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[bool], WorkbenchApp]]:
    """``runs_app(with_live)``: the demo workspace with three finished/failed runs (and a live one)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    runs = workspace / "runs"
    write_fake_run(runs / "base", 120, eval_every=40, learning_rate=1e-4)
    write_fake_run(runs / "high_lr", 120, eval_every=40, learning_rate=5e-4, seed=3)
    write_fake_run(runs / "oom", 30, state="failed", stage="dpo")

    def make(with_live: bool) -> WorkbenchApp:
        if with_live:
            write_fake_run(runs / "live", 60, total_steps=200, eval_every=40, state="running", seed=5)
        return make_app(sampler=Sampler(ReplaySource(GPU_SAMPLES), interval=3600))

    yield make
    monkeypatch.delenv("TZ")
    time.tzset()


async def charts_drawn(pilot: Pilot) -> None:
    """Wait until every chart in view shows a chart built for its size."""
    await settle(pilot)

    def in_view(chart: MetricChart) -> bool:
        scroll = chart.parent.parent if chart.parent is not None and chart.parent.id == "chart-grid" else None
        return bool(chart.region.height) and (scroll is None or chart.region.overlaps(scroll.region))

    def drawn() -> bool:
        charts = [c for c in pilot.app.screen.query(MetricChart) if in_view(c)]
        return bool(charts) and all(not c.stale and "…" not in c.text.plain for c in charts)

    await wait_until(pilot, drawn)
    await pilot.pause(0.6)
    await wait_until(pilot, drawn)


async def on_train(pilot: Pilot) -> None:
    await pilot.press("4")
    await pilot.press("ctrl+l")
    await charts_drawn(pilot)


async def on_runs_small(pilot: Pilot) -> None:
    """The runs screen with its three runs, sorted by name."""
    await pilot.press("5")
    await settle(pilot)
    table = pilot.app.screen.query_one(RunsTable)
    await wait_until(pilot, lambda: table.row_count == 3)
    table.sort_by("name", reverse=False)


async def on_runs(pilot: Pilot) -> None:
    await on_runs_small(pilot)
    pilot.app.screen.query_one(RunsTable).move_cursor(row=0)
    await pilot.press("space")
    await pilot.pause()


async def on_compare(pilot: Pilot) -> None:
    await on_runs(pilot)
    await pilot.press("down", "space", "c")
    await charts_drawn(pilot)


async def on_failed_run(pilot: Pilot) -> None:
    await on_runs(pilot)
    await pilot.press("down", "down", "enter")
    await charts_drawn(pilot)


def test_train_screen_watching_a_live_run(
    snap_compare: Callable[..., bool], runs_app: Callable[[bool], WorkbenchApp]
) -> None:
    assert snap_compare(runs_app(True), terminal_size=SIZE, run_before=on_train)


def test_runs_screen(snap_compare: Callable[..., bool], runs_app: Callable[[bool], WorkbenchApp]) -> None:
    assert snap_compare(runs_app(False), terminal_size=SIZE, run_before=on_runs)


def test_compare_screen(snap_compare: Callable[..., bool], runs_app: Callable[[bool], WorkbenchApp]) -> None:
    assert snap_compare(runs_app(False), terminal_size=SIZE, run_before=on_compare)


def test_failed_run_screen(snap_compare: Callable[..., bool], runs_app: Callable[[bool], WorkbenchApp]) -> None:
    assert snap_compare(runs_app(False), terminal_size=SIZE, run_before=on_failed_run)


SMALL = (80, 24)


async def on_train_small(pilot: Pilot) -> None:
    await pilot.press("4")
    await charts_drawn(pilot)


def test_train_screen_at_80x24(snap_compare: Callable[..., bool], runs_app: Callable[[bool], WorkbenchApp]) -> None:
    assert snap_compare(runs_app(True), terminal_size=SMALL, run_before=on_train_small)


def test_runs_screen_at_80x24(snap_compare: Callable[..., bool], runs_app: Callable[[bool], WorkbenchApp]) -> None:
    assert snap_compare(runs_app(False), terminal_size=SMALL, run_before=on_runs_small)


def test_compare_screen_at_80x24(snap_compare: Callable[..., bool], runs_app: Callable[[bool], WorkbenchApp]) -> None:
    assert snap_compare(runs_app(False), terminal_size=SMALL, run_before=on_compare)


def test_failed_run_screen_at_80x24(
    snap_compare: Callable[..., bool], runs_app: Callable[[bool], WorkbenchApp]
) -> None:
    assert snap_compare(runs_app(False), terminal_size=SMALL, run_before=on_failed_run)
