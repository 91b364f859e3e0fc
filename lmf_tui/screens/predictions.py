"""A prediction run's answers: its scores, a table of prompt / answer / label scored row by row, the differences.

Pushed from the runs screen (``e`` on a run with generated_predictions.jsonl; with another such run marked, the two
side by side, paired by prompt). The rows are scored in a worker (the same BLEU/ROUGE as the run's totals); ``o``
sorts by the chosen score (worst first, then best first, then file order), ``m`` picks the score, ``/`` keeps the
rows holding some text. The highlighted row is shown whole below: the answer's words that are not in the label
marked as extra, the label's that the answer lacks marked as missing.
"""

import re
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Header, Input, Static
from textual.worker import Worker, WorkerState

from lmf_engine.evaluate.predictions import (
    Prediction,
    matches,
    pair_rows,
    read_predictions,
    read_results,
    score_rows,
    word_diff,
)

from ..bindings import bindings_for
from ..palette import PaletteCommand
from .base import WorkbenchScreen

SCORES = ("rouge-l", "bleu-4", "rouge-1", "exact_match")
CELL = 48
SORTS = ("file", "worst", "best")


def _cut(text: str, width: int = CELL) -> Text:
    flat = " ".join(text.split())
    return Text(flat if len(flat) <= width else flat[: width - 1] + "…")


MARKER = re.compile(r"<\|[^|>]*\|>|</?s>|\[/?INST\]")


def prompt_gist(prompt: str) -> str:
    """The prompt's last line of words, template markers left out (its start is the same system text each row)."""
    lines = [MARKER.sub("", line).strip() for line in prompt.splitlines()]
    words = [line for line in lines if " " in line]
    return words[-1] if words else (lines[-1] if lines else "")


def diff_text(row: Prediction) -> Text:
    """The answer against the label: extra words (only in the answer) and missing words (only in the label)."""
    text = Text()
    for op, piece in word_diff(row.predict, row.label):
        style = {"same": "", "extra": "bold red strike", "missing": "bold green underline"}[op]
        text.append(piece, style=style)
    return text


class PredictionsScreen(WorkbenchScreen):
    """See the module docstring; ``second`` is another prediction run of the same data."""

    BINDINGS: list[BindingType] = bindings_for("predictions")
    DEFAULT_CSS = """
    PredictionsScreen #pred-summary { height: auto; padding: 0 1; border: round $secondary; }
    PredictionsScreen #pred-filter { display: none; }
    PredictionsScreen.-filtering #pred-filter { display: block; }
    PredictionsScreen #pred-table { height: 1fr; border: round $primary 50%; }
    PredictionsScreen #pred-table:focus { border: round $primary; }
    PredictionsScreen #pred-detail { height: 1fr; border: round $secondary; padding: 0 1; }
    """

    def __init__(self, run_dir: Path, second: Path | None = None) -> None:
        super().__init__()
        self.run_dir = Path(run_dir)
        self.second = Path(second) if second else None
        self.pairs: list[tuple[Prediction, Prediction | None]] = []
        self.shown: list[tuple[Prediction, Prediction | None]] = []
        self.score = SCORES[0]
        self.sort = SORTS[0]
        self.needle = ""
        self.scored = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="pred-summary")
        yield Input(placeholder="keep rows whose prompt or answers hold this text (Esc clears)", id="pred-filter")
        yield DataTable(id="pred-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="pred-detail"):
            yield Static("", id="pred-detail-text")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#pred-summary", Static).border_title = "Scores"
        self.query_one("#pred-detail", VerticalScroll).border_title = "Row"
        self.query_one(DataTable).focus()
        run_dir, second = self.run_dir, self.second

        def load() -> list[tuple[Prediction, Prediction | None]]:
            first = read_predictions(run_dir)
            other = read_predictions(second) if second else []
            for done in score_rows(first):
                if done % 50 == 0:
                    self.app.call_from_thread(self._progress, done, len(first) + len(other))
            for done in score_rows(other):
                if done % 50 == 0:
                    self.app.call_from_thread(self._progress, len(first) + done, len(first) + len(other))
            return pair_rows(first, other) if second else [(row, None) for row in first]

        self._progress(0, 0)
        self.run_worker(load, thread=True, group="pred-load", description="Reading and scoring the predictions",
                        exit_on_error=False)  # fmt: skip

    def _progress(self, done: int, total: int) -> None:
        note = f"scoring rows… {done:,} of {total:,}" if total else "reading the predictions…"
        self.query_one("#pred-summary", Static).update(Text(f"{self._summary_line()}\n{note}"))

    def _summary_line(self) -> str:
        lines = []
        for label, path in (("A", self.run_dir), ("B", self.second)):
            if path is None:
                continue
            results = read_results(path)
            names = ("predict_bleu-4", "predict_rouge-1", "predict_rouge-2", "predict_rouge-l", "predict_exact_match")
            figures = "  ".join(f"{n.removeprefix('predict_')} {results[n]:.2f}" for n in names if n in results)
            rate = results.get("predict_samples_per_second")
            speed = f"  {rate:.1f} rows/s" if rate else ""
            lines.append(f"{label if self.second else ''} {path.name}: {figures or 'no predict_results.json'}{speed}")
        return "\n".join(line.strip() for line in lines)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        super().on_worker_state_changed(event)
        if event.worker.group == "pred-load" and event.state is WorkerState.SUCCESS:
            self.pairs = event.worker.result or []
            self.scored = True
            self.query_one("#pred-summary", Static).update(Text(self._summary_line()))
            self.show_rows()

    # --- the table ----------------------------------------------------------------------------------------

    def show_rows(self) -> None:
        rows = [pair for pair in self.pairs if not self.needle or matches(pair[0], self.needle, pair[1])]
        if self.sort != "file":
            rows.sort(key=lambda pair: pair[0].scores.get(self.score, 0.0), reverse=self.sort == "best")
        self.shown = rows
        table = self.query_one(DataTable)
        table.clear(columns=True)
        columns = ["#", self.score, "prompt", "answer", "label"]
        if self.second:
            columns[3:4] = ["answer A", f"{self.score} B", "answer B"]
        table.add_columns(*columns)
        width = CELL * 2 // 3 if self.second else CELL
        for row, other in rows:
            cells: list[object] = [str(row.index + 1), f"{row.scores.get(self.score, 0.0):.2f}",
                                   _cut(prompt_gist(row.prompt), 32),
                                   _cut(row.predict, width)]  # fmt: skip
            if self.second:
                cells += [
                    f"{other.scores.get(self.score, 0.0):.2f}" if other else "-",
                    _cut(other.predict if other else "", width),
                ]
            cells.append(_cut(row.label, width))
            table.add_row(*cells)
        sort = {"file": "file order", "worst": "worst first", "best": "best first"}[self.sort]
        table.border_title = f"{len(rows):,} of {len(self.pairs):,} rows · by {self.score}, {sort}"
        self._show_detail(0)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(event.cursor_row)

    def _show_detail(self, index: int) -> None:
        detail = self.query_one("#pred-detail-text", Static)
        if not 0 <= index < len(self.shown):
            detail.update("")
            return
        row, other = self.shown[index]
        text = Text()
        text.append("prompt\n", style="bold")
        text.append(row.prompt + "\n\n")
        text.append("answer" + (" A" if self.second else "") + " against the label ", style="bold")
        text.append("(extra", style="bold red strike")
        text.append(" / ")
        text.append("missing", style="bold green underline")
        text.append(")\n")
        text.append_text(diff_text(row))
        text.append("\n\n")
        if other is not None:
            text.append("answer B against the label\n", style="bold")
            text.append_text(diff_text(other))
            text.append("\n\n")
        text.append("label\n", style="bold")
        text.append(row.label + "\n\n")
        scores = "  ".join(f"{k} {v:.2f}" for k, v in row.scores.items())
        text.append(f"scores: {scores}", style="dim")
        detail.update(text)

    # --- actions ------------------------------------------------------------------------------------------

    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.show_rows()

    def action_next_score(self) -> None:
        self.score = SCORES[(SCORES.index(self.score) + 1) % len(SCORES)]
        self.show_rows()

    def action_filter(self) -> None:
        self.add_class("-filtering")
        self.query_one("#pred-filter", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.needle = event.value.strip()
        if self.scored:
            self.show_rows()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one(DataTable).focus()

    def action_back(self) -> None:
        filter_input = self.query_one("#pred-filter", Input)
        if self.focused is filter_input or self.needle:
            filter_input.value = ""
            self.remove_class("-filtering")
            self.query_one(DataTable).focus()
            return
        self.app.pop_screen()

    def palette_commands(self) -> list[PaletteCommand]:
        return [
            PaletteCommand("Predictions: sort by score", "Worst first, best first, file order", self.action_sort),
            PaletteCommand("Predictions: next score", "ROUGE-L, BLEU-4, ROUGE-1, exact match", self.action_next_score),
            PaletteCommand("Predictions: search", "Keep the rows holding some text", self.action_filter),
        ]
