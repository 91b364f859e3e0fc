"""The predictions view: scores, rows scored and sorted, search, the word differences, two runs side by side, and
predicting with a finished run from the runs screen."""

import json
from collections.abc import Callable
from pathlib import Path

import yaml
from fixtures.fake_runs import write_fake_run
from textual.widgets import DataTable, Static
from tui_support import SIZE, settle, wait_until

from lmf_engine.evaluate.predictions import Prediction
from lmf_tui.app import WorkbenchApp
from lmf_tui.screens.ask import AskScreen
from lmf_tui.screens.predictions import PredictionsScreen, diff_text, prompt_gist
from lmf_tui.screens.runs import RunsScreen
from lmf_tui.widgets.runs_table import RunsTable

ROWS = [
    ("What is the capital of France?", "Paris is the capital.", "The capital of France is Paris."),
    ("Name a [bold]red[/] fruit.", "An apple.", "An apple."),
    ("2 + 2?", "5", "4"),
]


def write_predictions(run_dir: Path, answers: list[str] | None = None, bleu: float = 12.5) -> Path:
    """A finished run folder holding predictions, as ``lmf-engine predict`` leaves it."""
    write_fake_run(run_dir, 3)
    lines = []
    for (question, predict, label), answer in zip(ROWS, answers or [r[1] for r in ROWS], strict=True):
        prompt = f"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"
        lines.append(json.dumps({"prompt": prompt, "predict": answer or predict, "label": label}))
    (run_dir / "generated_predictions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    results = {"predict_bleu-4": bleu, "predict_rouge-l": 40.0, "predict_samples_per_second": 3.5}
    (run_dir / "predict_results.json").write_text(json.dumps(results), encoding="utf-8")
    return run_dir


def cells(table: DataTable, column: int) -> list[str]:
    return [str(table.get_row_at(i)[column]) for i in range(table.row_count)]


async def open_predictions(app: WorkbenchApp, pilot: object, run: str) -> PredictionsScreen:
    await pilot.press("5")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]
    table = app.screen.query_one(RunsTable)
    await wait_until(pilot, lambda: table.row_count > 0)  # type: ignore[arg-type]
    keys = [key.value for key in table.rows]
    table.move_cursor(row=next(i for i, k in enumerate(keys) if k.endswith(run)))
    await pilot.press("e")  # type: ignore[attr-defined]
    await wait_until(pilot, lambda: isinstance(app.screen, PredictionsScreen) and app.screen.scored)  # type: ignore[arg-type]
    return app.screen  # type: ignore[return-value]


async def test_rows_are_scored_sorted_searched_and_diffed(
    make_app: Callable[..., WorkbenchApp], workspace: Path
) -> None:
    write_predictions(workspace / "runs" / "pred")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_predictions(app, pilot, "pred")
        summary = str(screen.query_one("#pred-summary", Static).render())
        assert "bleu-4 12.50" in summary and "rouge-l 40.00" in summary and "3.5 rows/s" in summary
        table = screen.query_one("#pred-table", DataTable)
        assert cells(table, 0) == ["1", "2", "3"] and cells(table, 2)[1] == "Name a [bold]red[/] fruit."
        await pilot.press("o")  # worst first
        scores = [float(v) for v in cells(table, 1)]
        assert scores == sorted(scores) and cells(table, 0)[0] == "3"
        await pilot.press("o")  # best first
        assert cells(table, 0)[0] == "2" and float(cells(table, 1)[0]) == 100.0
        await pilot.press("m")
        assert table.columns[list(table.columns)[1]].label.plain == "bleu-4"
        await pilot.press("slash", *"paris")
        await settle(pilot)
        assert table.row_count == 1
        detail = str(screen.query_one("#pred-detail-text", Static).render())
        assert "Paris is the capital" in detail.replace("\n", " ") or "Paris" in detail
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, RunsScreen)


def test_word_differences_and_the_prompt_gist() -> None:
    row = Prediction(0, "", "the cat sat", "the dog sat")
    spans = [(span.style, diff_text(row).plain[span.start : span.end]) for span in diff_text(row).spans]
    assert ("bold red strike", "cat") in spans and ("bold green underline", "dog") in spans
    assert prompt_gist("<|im_start|>system\nYou are kind.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n") == (
        "Hi there"
    )


async def test_two_marked_runs_side_by_side(make_app: Callable[..., WorkbenchApp], workspace: Path) -> None:
    write_predictions(workspace / "runs" / "pred_a")
    write_predictions(workspace / "runs" / "pred_b", answers=["Paris.", "A pear.", "4"], bleu=30.0)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        table = app.screen.query_one(RunsTable)
        await wait_until(pilot, lambda: table.row_count == 2)
        keys = [key.value for key in table.rows]
        table.move_cursor(row=next(i for i, k in enumerate(keys) if k.endswith("pred_b")))
        await pilot.press("space")
        table.move_cursor(row=next(i for i, k in enumerate(keys) if k.endswith("pred_a")))
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, PredictionsScreen) and app.screen.scored)
        screen = app.screen
        summary = str(screen.query_one("#pred-summary", Static).render())
        assert "A pred_a" in summary and "B pred_b" in summary and "bleu-4 30.00" in summary
        grid = screen.query_one("#pred-table", DataTable)
        assert [c.label.plain for c in grid.columns.values()][3:6] == ["answer A", "rouge-l B", "answer B"]
        assert cells(grid, 5)[2] == "4" and cells(grid, 3)[2] == "5"


async def test_a_finished_training_run_offers_to_predict(
    make_app: Callable[..., WorkbenchApp], workspace: Path
) -> None:
    run = write_fake_run(workspace / "runs" / "trained", 10)
    config = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    config.update(val_size=0.0, eval_dataset=None)
    (run / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        table = app.screen.query_one(RunsTable)
        await wait_until(pilot, lambda: table.row_count == 1)
        await pilot.press("e")
        await settle(pilot)
        assert not isinstance(app.screen, AskScreen)  # nothing to predict: said, not asked
        messages = [n.message for n in app._notifications]
        assert any("no eval_dataset or val_size" in m for m in messages)


async def test_a_benchmark_from_the_runs_screen_scores_as_the_engine_does(
    make_app: Callable[..., WorkbenchApp], workspace: Path, sharp_model: Path, task_dir: Path
) -> None:
    import shutil

    from lmf_tui.screens.benchmark import BenchmarkScreen

    shutil.rmtree(workspace / "runs", ignore_errors=True)
    golden = json.loads((Path(__file__).parents[1] / "fixtures" / "eval" / "lf_eval_goldens.json").read_text("utf-8"))
    case = golden["benchmark"]["test_5shot_en"]
    values = {"model_name_or_path": str(sharp_model), "template": "qwen", "task_dir": str(task_dir), **case["case"]}
    (workspace / "configs" / "eval.yaml").write_text(yaml.safe_dump(values), encoding="utf-8")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        assert isinstance(app.screen, AskScreen)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, BenchmarkScreen) and app.screen.result is not None, 60)
        grid = app.screen.query_one("#bench-table", DataTable)
        shown = {str(grid.get_row_at(i)[0]): str(grid.get_row_at(i)[3]) for i in range(grid.row_count)}
        expected = dict(line.split(": ") for line in case["log"].splitlines())
        assert {name.strip(): value for name, value in expected.items()} == {
            k: shown[k] for k in map(str.strip, expected)
        }
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)
