"""BLEU/ROUGE of predictions: LLaMA-Factory 0.9.5's numbers, row by row and on average."""

import json
import sys
from pathlib import Path

import pytest

from lmf_engine.evaluate.similarity import MetricsUnavailable, Scorer, row_scores, score_predictions

GOLDENS = json.loads((Path(__file__).parents[2] / "fixtures" / "eval" / "lf_eval_goldens.json").read_text("utf-8"))


def test_every_row_and_the_means_equal_llama_factorys_to_four_decimals() -> None:
    golden = GOLDENS["similarity"]
    scorer = Scorer()
    for (predict, label), expected in zip(golden["pairs"], golden["rows"], strict=True):
        scores = scorer.add(predict, label)
        assert {key: scores[key] for key in expected} == pytest.approx(expected, abs=1e-4), (predict, label)
    means = scorer.mean()
    assert {key: means[key] for key in golden["means"]} == pytest.approx(golden["means"], abs=1e-4)


def test_exact_match_answer_length_and_a_predictions_file() -> None:
    assert row_scores(" Paris ", "Paris")["exact_match"] == 100.0
    assert row_scores("Paris", "paris")["exact_match"] == 0.0
    rows = [{"prompt": "q", "predict": "abc", "label": "abc"}, {"prompt": "q", "predict": "", "label": "x"}]
    scores = score_predictions(rows)
    assert scores["exact_match"] == 50.0 and scores["answer_length"] == 1.5
    assert scores["bleu-4"] == pytest.approx(row_scores("abc", "abc")["bleu-4"] / 2)  # 3 characters: no 4-grams


def test_a_missing_package_is_an_error_that_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rouge_chinese", None)
    with pytest.raises(MetricsUnavailable, match="rouge-chinese: pip install rouge-chinese"):
        Scorer()
