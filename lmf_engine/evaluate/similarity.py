"""Scores of generated answers against their labels, computed as LLaMA-Factory 0.9.5 computes them.

Per row: the texts are split into words by ``jieba``; ROUGE-1/2/L F-scores by ``rouge-chinese`` over the words
joined by spaces (0 when either side has no word); BLEU-4 by ``nltk``'s ``sentence_bleu`` over the characters, with
smoothing method 3. Each score is multiplied by 100 and rounded to 4 decimals, then averaged over the rows
(``predict_bleu-4``, ``predict_rouge-1``, ``predict_rouge-2``, ``predict_rouge-l`` in predict_results.json). Added
here: exact match (the stripped texts are equal, in %) and the mean length of the answers in characters.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

SIMILARITY_KEYS = ("rouge-1", "rouge-2", "rouge-l", "bleu-4")
EXTRA_KEYS = ("exact_match", "answer_length")
MODULES = {"jieba": "jieba", "nltk": "nltk", "rouge_chinese": "rouge-chinese"}


class MetricsUnavailable(RuntimeError):
    """A package the metrics need is not installed; the message says which and how to install it."""


def _modules() -> tuple[Any, Any, Any, Any]:
    missing = []
    for module, package in MODULES.items():
        try:
            __import__(module)
        except ImportError:
            missing.append(package)
    if missing:
        raise MetricsUnavailable(
            f"BLEU/ROUGE need {', '.join(missing)}: pip install {' '.join(missing)} "
            "(lmf workbench installs them; this environment lacks them)"
        )
    import jieba
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
    from rouge_chinese import Rouge

    jieba.setLogLevel(logging.WARNING)  # its dictionary-loading lines are not ours to print
    return jieba, sentence_bleu, SmoothingFunction().method3, Rouge


def row_scores(predict: str, label: str) -> dict[str, float]:
    """The scores of one answer (0-100, rounded to 4 decimals as LLaMA-Factory rounds them)."""
    return Scorer().score(predict, label)


@dataclass
class Scorer:
    """Scores rows one by one (the packages are loaded once) and averages them."""

    def __post_init__(self) -> None:
        self._jieba, self._bleu, self._smoothing, self._rouge = _modules()
        self.rows: dict[str, list[float]] = {key: [] for key in (*SIMILARITY_KEYS, *EXTRA_KEYS)}

    def score(self, predict: str, label: str) -> dict[str, float]:
        hypothesis = list(self._jieba.cut(predict))
        reference = list(self._jieba.cut(label))
        if not " ".join(hypothesis).split() or not " ".join(reference).split():
            rouge = {key: 0.0 for key in SIMILARITY_KEYS[:3]}
        else:
            scores = self._rouge().get_scores(" ".join(hypothesis), " ".join(reference))[0]
            rouge = {key: scores[key]["f"] for key in SIMILARITY_KEYS[:3]}
        result = {key: round(value * 100, 4) for key, value in rouge.items()}
        bleu = self._bleu([list(label)], list(predict), smoothing_function=self._smoothing)
        result["bleu-4"] = round(bleu * 100, 4)
        result["exact_match"] = 100.0 if predict.strip() == label.strip() else 0.0
        result["answer_length"] = float(len(predict))
        return result

    def add(self, predict: str, label: str) -> dict[str, float]:
        """Score a row and keep it for :meth:`mean`."""
        result = self.score(predict, label)
        for key, value in result.items():
            self.rows[key].append(value)
        return result

    def mean(self) -> dict[str, float]:
        """The mean of every score over the rows added (empty with no rows)."""
        return {key: sum(values) / len(values) for key, values in self.rows.items() if values}


def score_predictions(rows: Iterable[dict[str, Any]]) -> dict[str, float]:
    """Mean scores of ``{"predict", "label"}`` rows (generated_predictions.jsonl's lines)."""
    scorer = Scorer()
    for row in rows:
        scorer.add(str(row.get("predict") or ""), str(row.get("label") or ""))
    return scorer.mean()
