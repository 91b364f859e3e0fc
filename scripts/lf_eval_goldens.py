"""Write tests/fixtures/eval/lf_eval_goldens.json: LLaMA-Factory 0.9.5's own scores, for the evaluation tests.

Run with the reference environment, which has LLaMA-Factory and (pip install jieba nltk rouge-chinese) its metric
packages, on a model built with this project's venv::

    .venv/bin/python tests/fixtures/eval_model.py /tmp/eval-model
    /work/lf-venv/bin/python scripts/lf_eval_goldens.py --model /tmp/eval-model

* ``similarity``: LLaMA-Factory's ``ComputeSimilarity`` (jieba + rouge-chinese + nltk BLEU-4) on PAIRS, one row at a
  time (each row's scores) and all at once (the means), through a stand-in tokenizer that decodes row i to the
  i-th text, so the scoring code is LLaMA-Factory's, unchanged.
* ``benchmark``: LLaMA-Factory's ``Evaluator`` on the task folder tests/fixtures/eval_task.py writes, per case:
  the letters it answered per subject (results.json) and its results.log.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "eval" / "lf_eval_goldens.json"
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

from eval_task import write_task  # noqa: E402

PAIRS = [
    ("The cat sat on the mat.", "The cat sat on the mat."),
    ("The cat sat on a mat.", "A cat was sitting on the mat."),
    ("4 + 6 = 10.", "4 + 6 = 10"),
    ("", "Something"),
    ("Something", ""),
    ("   ", "Paris"),
    ("Paris is the capital of France.", "The capital of France is Paris."),
    ("今天天气很好，我们去公园散步吧。", "今天天气不错，我们去公园走走。"),
    ("我爱北京天安门", "我爱北京"),
    ("def add(a, b):\n    return a + b", "def add(x, y):\n    return x + y"),
    ("Yes", "No"),
    ("mixed 中文 and English text!", "mixed English and 中文 text"),
    ("a a a a a a a a", "a"),
]
CASES = {
    "test_5shot_en": {"task": "quiz_test", "n_shot": 5, "lang": "en", "batch_size": 4, "seed": 42},
    "validation_0shot_zh": {"task": "quiz_validation", "n_shot": 0, "lang": "zh", "batch_size": 3, "seed": 7},
    "test_2shot_en_seed1": {"task": "quiz_test", "n_shot": 2, "lang": "en", "batch_size": 1, "seed": 1},
}


class _Texts:
    """A stand-in tokenizer: token row ``[i]`` decodes to ``texts[i]``."""

    pad_token_id = -1

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts

    def batch_decode(self, rows: np.ndarray, skip_special_tokens: bool = True) -> list[str]:
        return [self.texts[int(row[0])] for row in rows]


def similarity() -> dict:
    from llamafactory.train.sft.metric import ComputeSimilarity
    from transformers import EvalPrediction

    rows = []
    for predict, label in PAIRS:
        metric = ComputeSimilarity(tokenizer=_Texts([predict, label]))
        rows.append(metric(EvalPrediction(predictions=np.array([[0]]), label_ids=np.array([[1]]))))
    n = len(PAIRS)
    metric = ComputeSimilarity(tokenizer=_Texts([p for p, _ in PAIRS] + [label for _, label in PAIRS]))
    ids = np.arange(n).reshape(n, 1)
    means = metric(EvalPrediction(predictions=ids, label_ids=ids + n))
    return {"pairs": PAIRS, "rows": rows, "means": means}


def benchmark(model: str) -> dict:
    from llamafactory.eval.evaluator import Evaluator

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        write_task(Path(tmp) / "tasks")
        for name, case in CASES.items():
            save_dir = Path(tmp) / f"results-{name}"
            args = {"model_name_or_path": model, "template": "qwen", "task_dir": str(Path(tmp) / "tasks"),
                    "save_dir": str(save_dir), **case}  # fmt: skip
            Evaluator(args).eval()
            out[name] = {
                "case": case,
                "answers": {
                    s: list(a.values()) for s, a in json.loads((save_dir / "results.json").read_text()).items()
                },
                "log": (save_dir / "results.log").read_text(encoding="utf-8"),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="the model tests/fixtures/eval_model.py builds")
    args = parser.parse_args()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    goldens = {"similarity": similarity(), "benchmark": benchmark(args.model)}
    OUT.write_text(json.dumps(goldens, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
