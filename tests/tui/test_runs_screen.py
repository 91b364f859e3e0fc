"""Runs screen: the table (live, filtered, sorted, LLaMA-Factory folders), opening a run, comparing marked runs,
and delete / stop / resume asking first."""

from collections.abc import Callable
from pathlib import Path

from fixtures.fake_runs import append_steps, write_fake_lf_run, write_fake_run
from textual.widgets import DataTable, Input, OptionList
from tui_support import SIZE, settle, wait_until

from lmf_tui.app import WorkbenchApp
from lmf_tui.screens.choose import ChooseScreen
from lmf_tui.screens.compare import CompareScreen
from lmf_tui.screens.run import RunScreen
from lmf_tui.screens.runs import RunsScreen
from lmf_tui.widgets.metric_chart import MetricChart
from lmf_tui.widgets.run_view import RunView
from lmf_tui.widgets.runs_table import RunsTable


def write_runs(workspace: Path) -> dict[str, Path]:
    runs = workspace / "runs"
    return {
        "base": write_fake_run(runs / "base", 120, eval_every=40, learning_rate=1e-4),
        "high_lr": write_fake_run(runs / "high_lr", 120, eval_every=40, learning_rate=5e-4, seed=3),
        "oom": write_fake_run(runs / "oom", 30, state="failed", stage="dpo"),
    }


async def open_runs(app: WorkbenchApp, pilot: object) -> RunsScreen:
    await pilot.press("5")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]
    assert isinstance(app.screen, RunsScreen)
    table = app.screen.query_one(RunsTable)
    await wait_until(pilot, lambda: table.row_count > 0)  # type: ignore[arg-type]
    return app.screen


def names(table: RunsTable) -> list[str]:
    return [str(table.get_cell(key.value, "name")) for key in table.rows]


async def test_table_lists_filters_and_sorts(make_app: Callable[..., WorkbenchApp], workspace: Path) -> None:
    write_runs(workspace)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_runs(app, pilot)
        table = screen.query_one(RunsTable)
        assert sorted(names(table)) == ["base", "high_lr", "oom"]
        row = dict(
            zip(
                [c.key.value for c in table.columns.values()],
                table.get_row("" + str(workspace / "runs" / "oom")),
                strict=True,
            )
        )
        assert str(row["state"]) == "failed" and str(row["stage"]) == "dpo" and str(row["steps"]) == "30/30"
        await pilot.press("slash")
        await pilot.press(*"sft")
        await wait_until(pilot, lambda: sorted(names(table)) == ["base", "high_lr"])
        await pilot.press("escape")
        await wait_until(pilot, lambda: len(names(table)) == 3)
        table.sort_by("name", reverse=False)
        assert names(table) == ["base", "high_lr", "oom"]
        await pilot.press("O")
        assert names(table) == ["oom", "high_lr", "base"]


async def test_rows_update_while_a_run_logs(make_app: Callable[..., WorkbenchApp], workspace: Path) -> None:
    live = write_fake_run(workspace / "runs" / "live", 10, total_steps=50, state="running")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_runs(app, pilot)
        table = screen.query_one(RunsTable)
        assert (
            str(table.get_cell(str(live), "steps")) == "10/50" and str(table.get_cell(str(live), "state")) == "running"
        )
        append_steps(live, 11, 15)
        await wait_until(pilot, lambda: str(table.get_cell(str(live), "steps")) == "25/50")


async def test_a_llamafactory_folder_opens_read_only(
    make_app: Callable[..., WorkbenchApp], workspace: Path, tmp_path: Path
) -> None:
    write_runs(workspace)
    lf = write_fake_lf_run(tmp_path / "saves" / "qwen-lora", 100, eval_every=50)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_runs(app, pilot)
        table = screen.query_one(RunsTable)
        await pilot.press("a")
        await pilot.pause()
        app.screen.query_one(Input).value = str(lf)
        await pilot.press("enter")
        await wait_until(pilot, lambda: "qwen-lora" in names(table))
        table.move_cursor(row=[k.value for k in table.rows].index(str(lf)))
        await pilot.press("r")
        await pilot.pause()
        assert not isinstance(app.screen, ChooseScreen)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen))
        view = app.screen.query_one(RunView)
        await wait_until(pilot, lambda: view.info is not None and view.info.kind == "llamafactory")
        await wait_until(pilot, lambda: "loss" in {c.metric for c in app.screen.query(MetricChart)})


async def test_compare_overlays_a_metric_and_shows_config_differences(
    make_app: Callable[..., WorkbenchApp], workspace: Path
) -> None:
    write_runs(workspace)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_runs(app, pilot)
        table = screen.query_one(RunsTable)
        table.sort_by("name", reverse=False)
        table.move_cursor(row=0)
        await pilot.press("c")
        assert isinstance(app.screen, RunsScreen), "comparing needs two marked runs"
        await pilot.press("space", "down", "space", "c")
        await wait_until(pilot, lambda: isinstance(app.screen, CompareScreen))
        compare = app.screen
        diff = compare.query_one("#compare-diff", DataTable)
        await wait_until(pilot, lambda: diff.row_count > 0)
        keys = [str(diff.get_row_at(i)[0]) for i in range(diff.row_count)]
        assert "learning_rate" in keys and "seed" in keys and "output_dir" not in keys
        row = diff.get_row_at(keys.index("learning_rate"))
        assert [str(v) for v in row[1:]] == ["0.0001", "0.0005"]
        metrics = compare.query_one("#compare-metrics", OptionList)
        await wait_until(pilot, lambda: metrics.option_count > 0)
        assert metrics.get_option_at_index(0).id == "loss"
        chart = compare.query_one(MetricChart)
        await wait_until(pilot, lambda: "loss by step" in chart.text.plain)
        assert "base" in chart.text.plain and "high_lr" in chart.text.plain
        await pilot.press("t")
        await wait_until(pilot, lambda: "loss by tokens" in chart.text.plain)
        await pilot.press("m")
        await wait_until(pilot, lambda: compare.metric == "eval_loss" and "eval_loss by" in chart.text.plain)
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


async def test_delete_asks_first_and_is_refused_while_running(
    make_app: Callable[..., WorkbenchApp], workspace: Path
) -> None:
    runs = write_runs(workspace)
    live = write_fake_run(workspace / "runs" / "live", 5, total_steps=50, state="running")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_runs(app, pilot)
        table = screen.query_one(RunsTable)
        table.move_cursor(row=[k.value for k in table.rows].index(str(live)))
        await pilot.press("delete")
        await pilot.pause()
        assert not isinstance(app.screen, ChooseScreen) and live.is_dir()
        table.move_cursor(row=[k.value for k in table.rows].index(str(runs["oom"])))
        await pilot.press("delete")
        await pilot.pause()
        assert isinstance(app.screen, ChooseScreen)
        await pilot.press("n")
        await settle(pilot)
        assert runs["oom"].is_dir()
        await pilot.press("delete")
        await pilot.pause()
        await pilot.press("y")
        await wait_until(pilot, lambda: not runs["oom"].exists())
        await wait_until(pilot, lambda: str(runs["oom"]) not in [k.value for k in table.rows])
