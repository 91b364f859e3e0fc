"""SVG snapshots of media (theme lmf-dark, 120x40, the demo workspace at ``~/ws``): a dataset row's picture drawn
with half-blocks (the renderer any terminal has, so the snapshot does not depend on the terminal's answers), and
the Template screen with an image's tokens folded into one run.

Update after an intended change with ``pytest tests/tui/test_media_snapshots.py --snapshot-update`` and review them.
"""

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Select
from tui_support import SIZE, settle

from lmf_tui.app import WorkbenchApp
from lmf_tui.widgets.dataset_list import DatasetList
from lmf_tui.widgets.rows_table import RowsTable


@pytest.fixture
def halfcell_app(
    make_app: Callable[..., WorkbenchApp], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> WorkbenchApp:
    monkeypatch.setenv("HOME", str(tmp_path))
    return make_app(images="halfcell")


def first_row_with(workspace: Path, image: str) -> int:
    rows = json.loads((workspace / "data" / "demo_mllm.json").read_text())
    return next(i for i, row in enumerate(rows) if row["images"] == [f"demo_images/{image}"])


def test_dataset_row_with_an_image(
    snap_compare: Callable[..., bool], halfcell_app: WorkbenchApp, workspace: Path
) -> None:
    index = first_row_with(workspace, "red_circle.png")

    async def on_row(pilot: Pilot) -> None:
        await settle(pilot)
        datasets = pilot.app.screen.query_one(DatasetList)
        datasets.move_cursor(row=datasets.get_row_index("demo_mllm"))
        await settle(pilot)
        table = pilot.app.screen.query_one(RowsTable)
        table.focus()
        table.move_to(index)
        await settle(pilot)

    assert snap_compare(halfcell_app, terminal_size=SIZE, run_before=on_row)


@pytest.mark.slow
def test_template_screen_with_a_folded_image_run(
    snap_compare: Callable[..., bool], halfcell_app: WorkbenchApp, workspace: Path
) -> None:
    halfcell_app.set_config(workspace / "configs" / "sft_vlm_lora.yaml")
    row = first_row_with(workspace, "red_circle.png") + 1

    async def on_template(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        screen = pilot.app.screen
        screen.query_one("#tpl-dataset", Select).value = "demo_mllm"
        screen.query_one("#tpl-row").value = str(row)  # type: ignore[attr-defined]
        await pilot.pause(0.4)
        await settle(pilot)
        await pilot.press("escape")

    assert snap_compare(halfcell_app, terminal_size=SIZE, run_before=on_template)
