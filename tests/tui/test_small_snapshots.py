"""SVG snapshots of the datasets, template and config screens at 80x24, the size many SSH clients open with
(the train, runs and chat screens have theirs in test_run_snapshots.py and test_chat_snapshots.py).

Update after an intended change with ``pytest tests/tui/test_small_snapshots.py --snapshot-update`` and review them.
"""

from collections.abc import Callable

from test_snapshots import on_config, on_template, ready, snapshot_app  # noqa: F401 (a fixture)

from lmf_tui.app import WorkbenchApp

SMALL = (80, 24)


def test_datasets_screen_at_80x24(snap_compare: Callable[..., bool], snapshot_app: WorkbenchApp) -> None:  # noqa: F811
    assert snap_compare(snapshot_app, terminal_size=SMALL, run_before=ready)


def test_template_screen_at_80x24(snap_compare: Callable[..., bool], snapshot_app: WorkbenchApp) -> None:  # noqa: F811
    assert snap_compare(snapshot_app, terminal_size=SMALL, run_before=on_template)


def test_config_screen_at_80x24(snap_compare: Callable[..., bool], snapshot_app: WorkbenchApp) -> None:  # noqa: F811
    assert snap_compare(snapshot_app, terminal_size=SMALL, run_before=on_config)
