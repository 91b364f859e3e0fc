"""``lmf-engine eval`` and ``lmf-engine score`` as a user runs them: output, saved files, exit codes."""

import json
import subprocess
import sys
from pathlib import Path

import yaml

GOLDENS = json.loads((Path(__file__).parents[2] / "fixtures" / "eval" / "lf_eval_goldens.json").read_text("utf-8"))


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lmf_engine", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)  # fmt: skip


def test_eval_prints_and_saves_llama_factorys_scores(sharp_model: Path, task_dir: Path, tmp_path: Path) -> None:
    case = GOLDENS["benchmark"]["test_5shot_en"]
    values = {"model_name_or_path": str(sharp_model), "template": "qwen", "task_dir": str(task_dir), **case["case"]}
    config = tmp_path / "eval.yaml"
    config.write_text(yaml.safe_dump({**values, "save_dir": str(tmp_path / "out")}), encoding="utf-8")
    done = run("eval", str(config))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(case["log"])
    assert (tmp_path / "out" / "results.log").read_text(encoding="utf-8").startswith(case["log"])
    again = run("eval", str(config))
    assert again.returncode == 2 and "save_dir:" in again.stderr and "already exists" in again.stderr
    as_json = run("eval", str(config), "save_dir=null", "--json")
    scores = json.loads(as_json.stdout)
    assert scores["task"] == "quiz_test" and set(scores["subjects"]) == set(case["answers"])


def test_score_a_predictions_file_and_name_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "generated_predictions.jsonl"
    rows = [
        {"prompt": "p", "predict": "The cat sat.", "label": "The cat sat."},
        {"prompt": "p", "predict": "", "label": "x"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    done = run("score", str(path), "--json")
    assert done.returncode == 0, done.stderr
    scores = json.loads(done.stdout)
    assert scores["rows"] == 2 and scores["exact_match"] == 50.0 and scores["rouge-l"] == 50.0
    path.write_text('{"predict": "x"}\n', encoding="utf-8")
    bad = run("score", str(path))
    assert bad.returncode == 2 and f"{path}:1: each line needs predict and label" in bad.stderr
