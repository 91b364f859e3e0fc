"""SVG snapshots of every screen: theme lmf-dark, 120x40, the demo workspace at ``~/ws`` (HOME is the test folder).

Update after an intended change with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and review the SVGs.
"""

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from tui_support import SIZE, settle

from lmf_tui.app import WorkbenchApp


@pytest.fixture
def snapshot_app(
    make_app: Callable[..., WorkbenchApp], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> WorkbenchApp:
    monkeypatch.setenv("HOME", str(tmp_path))
    return make_app()


async def ready(pilot: Pilot) -> None:
    await settle(pilot)


async def on_template(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("2")
    await pilot.pause(0.4)
    await settle(pilot)
    await pilot.press("escape")


async def on_config(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("3")
    await settle(pilot)
    await pilot.pause(0.3)


async def on_keys(pilot: Pilot) -> None:
    await settle(pilot)
    await pilot.press("question_mark")
    await pilot.pause()


def test_datasets_screen(snap_compare: Callable[..., bool], snapshot_app: WorkbenchApp) -> None:
    assert snap_compare(snapshot_app, terminal_size=SIZE, run_before=ready)


@pytest.mark.slow
def test_template_screen(snap_compare: Callable[..., bool], snapshot_app: WorkbenchApp) -> None:
    assert snap_compare(snapshot_app, terminal_size=SIZE, run_before=on_template)


def test_config_screen(snap_compare: Callable[..., bool], snapshot_app: WorkbenchApp) -> None:
    assert snap_compare(snapshot_app, terminal_size=SIZE, run_before=on_config)


def test_keys_screen(snap_compare: Callable[..., bool], snapshot_app: WorkbenchApp) -> None:
    assert snap_compare(snapshot_app, terminal_size=SIZE, run_before=on_keys)
