"""Predictions as runs: generated_predictions.jsonl and predict_results.json, a stop and a resume, the CLI."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from train_support import copy_workspace, events, prepare_run, record, run_child, start_child

pytestmark = pytest.mark.slow

PREDICT = {
    "do_train": False,
    "do_predict": True,
    "predict_with_generate": True,
    "eval_dataset": "demo_sft",
    "dataset": None,
    "max_samples": 100,
    "val_size": 0.0,
    "eval_strategy": "no",
    "max_new_tokens": 6,
    "per_device_eval_batch_size": 1,
}


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_stopped_prediction_resumes_where_it_was_and_ends_as_an_uninterrupted_one(
    demo_workspace: Path, tmp_path: Path
) -> None:
    workspace = copy_workspace(demo_workspace, tmp_path)
    whole = prepare_run(workspace, "sft_lora", "whole", **PREDICT)
    cut = prepare_run(workspace, "sft_lora", "cut", **PREDICT)
    child = start_child(cut)
    partial = cut / "generated_predictions.partial.jsonl"
    deadline = time.monotonic() + 300
    while not (partial.exists() and len(partial.read_text(encoding="utf-8").splitlines()) >= 32):
        assert time.monotonic() < deadline and child.poll() is None, (cut / "stdout.log").read_text()[-3000:]
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGTERM)
    assert child.wait(timeout=120) == 0
    assert record(cut)["state"] == "stopped" and not (cut / "generated_predictions.jsonl").exists()
    written = len(partial.read_text(encoding="utf-8").splitlines())
    assert 32 <= written < 100
    assert run_child(whole) == 0, (whole / "stdout.log").read_text()[-3000:]
    assert run_child(cut, "--resume") == 0, (cut / "stdout.log").read_text()[-3000:]
    assert record(cut)["state"] == "finished"
    messages = [e.get("message", "") for e in events(cut) if e["kind"] == "log"]
    assert any(
        m.startswith(f"predictions: {written // 32 * 32} of 100 rows were written before the stop") for m in messages
    )
    assert lines(cut / "generated_predictions.jsonl") == lines(whole / "generated_predictions.jsonl")
    results = json.loads((cut / "predict_results.json").read_text(encoding="utf-8"))
    expected = json.loads((whole / "predict_results.json").read_text(encoding="utf-8"))
    for key in ("predict_bleu-4", "predict_rouge-1", "predict_rouge-2", "predict_rouge-l", "predict_exact_match"):
        assert results[key] == pytest.approx(expected[key])
    progress = [e for e in events(whole) if e["kind"] == "progress" and e.get("phase") == "predict"]
    assert progress[-1]["total_steps"] == 100 and progress[-1]["step"] == 100


def test_lmf_engine_predict_refuses_a_config_without_rows_to_answer(demo_workspace: Path, tmp_path: Path) -> None:
    workspace = copy_workspace(demo_workspace, tmp_path)
    command = [
        sys.executable,
        "-m",
        "lmf_engine",
        "predict",
        "configs/sft_lora.yaml",
        "val_size=0",
        "eval_strategy=no",
    ]
    done = subprocess.run(command, cwd=workspace, capture_output=True, text=True)
    assert done.returncode == 2 and "predict needs eval_dataset (or val_size)" in done.stderr
