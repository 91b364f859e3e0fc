"""A multiple-choice benchmark scored in the workbench: progress while it runs, then accuracy per category and
subject (the numbers ``lmf-engine eval`` prints and saves).

Pushed from the runs screen (``b``): the benchmark config's keys (task, task_dir, n_shot, lang, batch_size, seed,
save_dir) with the highlighted run's result as the model, or the config's own model. The model loads and answers in
a thread worker; Esc goes back (the scoring stops with the screen).
"""

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import DataTable, Footer, Header, ProgressBar, Static
from textual.worker import Worker, WorkerState, get_current_worker

from lmf_engine.config import Config
from lmf_engine.evaluate.benchmark import Benchmark, BenchmarkResult

from ..bindings import bindings_for
from .base import WorkbenchScreen


class BenchmarkScreen(WorkbenchScreen):
    """See the module docstring; ``title`` says which model is scored."""

    BINDINGS: list[BindingType] = bindings_for("benchmark")
    DEFAULT_CSS = """
    BenchmarkScreen #bench-status { height: auto; padding: 0 1; border: round $secondary; }
    BenchmarkScreen ProgressBar { margin: 0 1; }
    BenchmarkScreen #bench-table { height: 1fr; border: round $primary 50%; }
    """

    def __init__(self, config: Config, title: str) -> None:
        super().__init__()
        self.config = config
        self.title_text = title
        self.result: BenchmarkResult | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text(f"{self.title_text}: loading the model…"), id="bench-status")
        yield ProgressBar(id="bench-progress", show_eta=True)
        yield DataTable(id="bench-table", cursor_type="row", zebra_stripes=True)
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#bench-status", Static).border_title = f"Benchmark {self.config.evaluation.task}"
        config = self.config

        def score() -> BenchmarkResult:
            worker = get_current_worker()
            benchmark = Benchmark(config)
            benchmark.load()

            def progress(done: int, total: int, subject: str) -> None:
                if worker.is_cancelled:
                    raise InterruptedError("the benchmark screen was closed")
                self.app.call_from_thread(self._progress, done, total, subject)

            return benchmark.run(progress)

        self.run_worker(score, thread=True, group="benchmark", description="Scoring the benchmark",
                        exit_on_error=False)  # fmt: skip

    def _progress(self, done: int, total: int, subject: str) -> None:
        self.query_one(ProgressBar).update(total=total, progress=done)
        self.query_one("#bench-status", Static).update(Text(f"{self.title_text}: {subject} ({done:,} of {total:,})"))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        super().on_worker_state_changed(event)
        if event.worker.group == "benchmark" and event.state is WorkerState.SUCCESS:
            self.show_result(event.worker.result)

    def job_failed(self, worker: Worker) -> None:
        self.query_one("#bench-status", Static).update(Text(f"{self.title_text}: the benchmark failed"))

    def show_result(self, result: BenchmarkResult) -> None:
        self.result = result
        scores = result.accuracy()
        saved = f"; saved in {self.config.evaluation.save_dir}" if self.config.evaluation.save_dir else ""
        average = scores["categories"].get("Average", 0.0)
        self.query_one("#bench-status", Static).update(Text(f"{self.title_text}: average {average:.2f}{saved}"))
        self.query_one(ProgressBar).display = False
        table = self.query_one(DataTable)
        table.clear(columns=True)
        table.add_columns("subject or category", "category", "questions", "accuracy")
        for name, value in scores["categories"].items():
            count = sum(len(m) for s, m in result.correct.items() if name in ("Average", result.categories[s]))
            table.add_row(Text(name, style="bold"), "", str(count), f"{value:.2f}")
        for subject, value in scores["subjects"].items():
            table.add_row(Text(subject), result.categories[subject], str(len(result.correct[subject])), f"{value:.2f}")

    def action_back(self) -> None:
        for worker in self.workers:
            worker.cancel()
        self.app.pop_screen()
