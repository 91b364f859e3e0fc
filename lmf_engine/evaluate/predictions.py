"""A run's predictions for reading: rows with their scores, two runs' answers side by side, word differences.

``generated_predictions.jsonl`` (ours or LLaMA-Factory's) and ``predict_results.json`` of one run folder; each row
scored as the run's metrics are (:mod:`.similarity`). Two runs' rows are paired by prompt (the same data predicted
twice), in the first run's order.
"""

import difflib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

PREDICTIONS_FILE = "generated_predictions.jsonl"
RESULTS_FILE = "predict_results.json"
WORDS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)

DiffOp = Literal["same", "extra", "missing"]


@dataclass
class Prediction:
    """One row: the prompt, the answer, the expected answer and (once scored) its scores."""

    index: int
    prompt: str
    predict: str
    label: str
    scores: dict[str, float] = field(default_factory=dict)


def has_predictions(run_dir: Path) -> bool:
    return (Path(run_dir) / PREDICTIONS_FILE).is_file()


def read_predictions(run_dir: Path) -> list[Prediction]:
    """The rows of a run's generated_predictions.jsonl (see :func:`read_prediction_file`)."""
    return read_prediction_file(Path(run_dir) / PREDICTIONS_FILE)


def read_prediction_file(path: Path) -> list[Prediction]:
    """The ``{prompt, predict, label}`` lines of ``path``; a line that is not one is a ValueError naming it."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: invalid JSON: {exc}") from None
            if not isinstance(row, dict) or "predict" not in row or "label" not in row:
                raise ValueError(f"{path}:{number}: each line needs predict and label")
            rows.append(Prediction(len(rows), str(row.get("prompt", "")), str(row.get("predict", "")),
                                   str(row.get("label", ""))))  # fmt: skip
    return rows


def read_results(run_dir: Path) -> dict[str, float]:
    """predict_results.json's numbers (empty when the run has none)."""
    path = Path(run_dir) / RESULTS_FILE
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in values.items() if isinstance(v, int | float)} if isinstance(values, dict) else {}


def score_rows(rows: list[Prediction]) -> Iterator[int]:
    """Score every row in place; yields the number scored so far (for progress)."""
    from .similarity import Scorer

    scorer = Scorer()
    for row in rows:
        row.scores = scorer.score(row.predict, row.label)
        yield row.index + 1


def pair_rows(first: list[Prediction], second: list[Prediction]) -> list[tuple[Prediction, Prediction | None]]:
    """``second``'s row with the same prompt for each row of ``first`` (repeated prompts pair in order)."""
    queues: dict[str, list[Prediction]] = {}
    for row in second:
        queues.setdefault(row.prompt, []).append(row)
    return [(row, queues[row.prompt].pop(0) if queues.get(row.prompt) else None) for row in first]


def word_diff(predict: str, label: str) -> list[tuple[DiffOp, str]]:
    """The prediction's words against the label's: ``same``, ``extra`` (only in the prediction) and ``missing``
    (only in the label), in reading order."""
    got, want = WORDS.findall(predict), WORDS.findall(label)
    pieces: list[tuple[DiffOp, str]] = []
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(a=got, b=want, autojunk=False).get_opcodes():
        if op == "equal":
            pieces.append(("same", "".join(got[a1:a2])))
            continue
        if a2 > a1:
            pieces.append(("extra", "".join(got[a1:a2])))
        if b2 > b1:
            pieces.append(("missing", "".join(want[b1:b2])))
    return pieces


def matches(row: Prediction, needle: str, other: Prediction | None = None) -> bool:
    """Whether ``needle`` (case-insensitive) is in the row's prompt, answer or label (or the other run's answer)."""
    needle = needle.casefold()
    texts: list[Any] = [row.prompt, row.predict, row.label, other.predict if other else ""]
    return any(needle in text.casefold() for text in texts)
