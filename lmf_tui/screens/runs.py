"""Screen 5: every run of the workspace (and folders opened by path, LLaMA-Factory's read-only), live.

Filter by text, sort by any column, open a run, mark several and compare them, stop, resume and delete (asking
first). The table is refreshed every second by a worker that reads only what the runs appended.
"""

from pathlib import Path

from textual.app import ComposeResult
from textual.widgets import Footer, Header, Input
from textual.worker import Worker, WorkerState

from lmf_engine.runs.overview import RunRow, RunsOverview
from lmf_engine.runs.store import RunInfo, RunNotFoundError, RunStateError, delete_run, is_run_dir, open_run

from ..bindings import bindings_for
from ..palette import PaletteCommand
from ..run_actions import ask_resume, ask_stop, confirm_then
from ..widgets.runs_table import COLUMN_KEYS, RunsTable
from .ask import AskScreen
from .base import WorkbenchScreen

REFRESH_S = 1.0


class RunsScreen(WorkbenchScreen):
    BINDINGS = bindings_for("runs")
    DEFAULT_CSS = """
    RunsScreen #runs-filter { display: none; }
    RunsScreen.-filtering #runs-filter { display: block; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.overview: RunsOverview | None = None
        self.to_add: list[Path] = []
        self.refreshing = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter: words that appear in the row (Enter keeps it, Esc clears)", id="runs-filter")
        yield RunsTable(id="runs-table")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.overview = RunsOverview(self.workbench.workspace.runs_root)
        self.set_interval(REFRESH_S, self.refresh_runs)
        self.refresh_runs()
        self.query_one(RunsTable).focus()

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    def refresh_runs(self) -> None:
        """Read the runs again in a worker (skipped while the previous refresh is still going)."""
        if self.refreshing or self.overview is None:
            return
        self.refreshing = True
        adds, self.to_add = self.to_add, []
        overview = self.overview

        def work() -> list[RunRow]:
            for path in adds:
                overview.add(path)
            return overview.refresh()

        self.run_worker(work, thread=True, group="runs-refresh", description="Reading the runs")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        super().on_worker_state_changed(event)
        if event.worker.group == "runs-refresh" and event.state in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            self.refreshing = False
            if event.state is WorkerState.SUCCESS and event.worker.result is not None:
                self.table.show(event.worker.result)
        elif event.state is WorkerState.SUCCESS and isinstance(event.worker.result, str):
            self.refresh_runs()

    # --- filter and sort -----------------------------------------------------------------------------------

    def action_filter(self) -> None:
        self.add_class("-filtering")
        self.query_one("#runs-filter", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "runs-filter":
            self.table.filter_text = event.value.strip()
            self.table.show(list(self.table.rows_by_key.values()))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "runs-filter":
            self.table.focus()

    def action_clear(self) -> None:
        filter_input = self.query_one("#runs-filter", Input)
        if self.focused is filter_input or self.table.filter_text:
            filter_input.value = ""
            self.remove_class("-filtering")
            self.table.focus()
        elif self.table.marked:
            self.table.marked.clear()
            self.table.show(list(self.table.rows_by_key.values()))

    def action_sort(self) -> None:
        index = COLUMN_KEYS.index(self.table.sort_key) if self.table.sort_key in COLUMN_KEYS else -1
        self.table.sort_by(COLUMN_KEYS[(index + 1) % len(COLUMN_KEYS)])

    def action_reverse_sort(self) -> None:
        self.table.sort_by(self.table.sort_key, not self.table.sort_reverse)

    # --- runs ----------------------------------------------------------------------------------------------

    def _current(self) -> RunInfo | None:
        row = self.table.current_row()
        if row is None:
            self.notify("no run selected", severity="warning")
            return None
        try:
            return open_run(row.path)
        except (RunNotFoundError, OSError, ValueError) as exc:
            self.notify(str(exc), severity="error")
            return None

    def action_open_run(self) -> None:
        row = self.table.current_row()
        if row is not None:
            from .run import RunScreen

            self.app.push_screen(RunScreen(row.path))

    def on_data_table_row_selected(self, event: RunsTable.RowSelected) -> None:
        event.stop()
        self.action_open_run()

    def action_mark(self) -> None:
        self.table.toggle_mark()

    def action_compare(self) -> None:
        marked = [Path(key) for key in self.table.marked]
        if len(marked) < 2:
            self.notify("mark two runs or more with space, then press c", severity="warning")
            return
        from .compare import CompareScreen

        order = [Path(key.value) for key in self.table.rows if key.value in self.table.marked]
        self.app.push_screen(CompareScreen(order or marked))

    def action_stop(self) -> None:
        if (info := self._current()) is not None:
            ask_stop(self, info)

    def action_resume(self) -> None:
        if (info := self._current()) is not None:
            ask_resume(self, info)

    def action_delete(self) -> None:
        info = self._current()
        if info is None:
            return
        if info.active:
            self.notify(f"run {info.name} is {info.state}: stop it before deleting it", severity="error")
            return

        message = f"{info.path}\nIts checkpoints, logs and model are deleted. This cannot be undone."
        title = f"Delete run {info.name}?"
        confirm_then(self, title, message, "Delete it", lambda: _delete(info), f"Deleting run {info.name}")

    def action_evaluate(self) -> None:
        """A run with predictions: open them (beside the one other marked run with predictions). A finished
        training run: offer to predict its evaluation rows with its result, as a new run."""
        info = self._current()
        if info is None:
            return
        from lmf_engine.evaluate.predictions import has_predictions

        if has_predictions(info.path):
            from .predictions import PredictionsScreen

            others = [Path(k) for k in self.table.marked if Path(k) != info.path and has_predictions(Path(k))]
            self.app.push_screen(PredictionsScreen(info.path, others[0] if len(others) == 1 else None))
            return
        if info.active or info.state != "finished":
            self.notify(f"run {info.name} is {info.state}: predictions need a finished run", severity="warning")
            return
        from lmf_engine.runs.inference import RunConfigError, prediction_values

        target = self.workbench.workspace.runs_root / f"{info.name}-predict"
        try:
            values = prediction_values(info.path, str(target))
        except RunConfigError as exc:
            self.notify(str(exc), severity="error")
            return
        workspace = self.workbench.workspace.root
        message = (
            f"Answer every evaluation row of {info.name}'s data with its result, into {target.name} "
            "(a new run; press e on it when it has finished)."
        )
        confirm_then(self, f"Predict with run {info.name}?", message, "Predict",
                     lambda: _predict(values, workspace), f"Starting predictions of {info.name}")  # fmt: skip

    def action_benchmark(self) -> None:
        """Score a multiple-choice benchmark (a config's task keys) with the highlighted run's result."""
        row = self.table.current_row()
        where = f"run {row.path.name}'s result replaces its model" if row is not None else "its own model is scored"
        ask = AskScreen(f"Benchmark config (task, task_dir, n_shot, lang...): {where}", "configs/eval.yaml",
                        "configs/eval.yaml")  # fmt: skip
        self.app.push_screen(ask, lambda answer: self._benchmark(answer, row.path if row is not None else None))

    def _benchmark(self, answer: str | None, run_dir: Path | None) -> None:
        if not answer:
            return
        from lmf_engine.config import ConfigError, load_config
        from lmf_engine.evaluate.benchmark import Benchmark, BenchmarkError
        from lmf_engine.runs.inference import RunConfigError, inference_values

        from .benchmark import BenchmarkScreen

        path = self.workbench.workspace.resolve(answer)
        try:
            overrides = [f"{k}={v}" for k, v in inference_values(run_dir).items()] if run_dir else []
            config = load_config(path, overrides)
            Benchmark(config)  # the task folder and files are checked before the model loads
        except (ConfigError, BenchmarkError, RunConfigError, OSError) as exc:
            self.notify(f"{answer}: {exc}", severity="error")
            return
        title = f"run {run_dir.name}" if run_dir else config.model.model_name_or_path or answer
        self.app.push_screen(BenchmarkScreen(config, str(title)))

    def action_add_folder(self) -> None:
        ask = AskScreen("Open a run folder", "path of a run or a LLaMA-Factory output_dir")
        self.app.push_screen(ask, self._add_answer)

    def _add_answer(self, answer: str | None) -> None:
        if not answer:
            return
        path = self.workbench.workspace.resolve(answer).resolve()
        if not is_run_dir(path):
            self.notify(
                f"{answer}: not a run folder (no run.json, trainer_log.jsonl or trainer_state.json)", severity="error"
            )
            return
        self.to_add.append(path)
        self.refresh_runs()

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            PaletteCommand("Runs: open", "Charts, config, events, stdout of the run", self.action_open_run),
            PaletteCommand("Runs: compare marked", "Overlay a metric and diff the configs", self.action_compare),
            PaletteCommand("Runs: filter", "Show the runs matching some words", self.action_filter),
            PaletteCommand(
                "Runs: add a folder", "A run or LLaMA-Factory output_dir elsewhere", self.action_add_folder
            ),
            PaletteCommand(
                "Runs: predictions", "Open a run's predictions, or predict with a run", self.action_evaluate
            ),
            PaletteCommand(
                "Runs: benchmark", "Score a multiple-choice task with the run's result", self.action_benchmark
            ),
            PaletteCommand("Runs: stop", "The trainer saves a checkpoint and stops", self.action_stop),
            PaletteCommand("Runs: resume", "From the newest or a chosen checkpoint", self.action_resume),
            PaletteCommand("Runs: delete", "Delete the run folder (asks first)", self.action_delete),
        ]


def _delete(info: RunInfo) -> str:
    try:
        delete_run(info)
    except RunStateError as exc:
        return str(exc)
    return f"deleted {info.path}"


def _predict(values: dict[str, object], workspace: Path) -> str:
    from lmf_engine.config import load_config
    from lmf_engine.runs.launcher import start_run

    launched = start_run(load_config(values=values), workspace=workspace)
    return f"predicting: run {launched.run_dir.name} started"
