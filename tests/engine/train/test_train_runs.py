"""End to end: ``python -m lmf_engine.train RUN_DIR`` on the demo workspace's tiny model and data."""

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from train_support import (
    copy_workspace,
    events,
    losses,
    prepare_run,
    record,
    run_child,
    start_child,
    trainer_log,
    wait_for_step,
)

pytestmark = pytest.mark.slow

NO_EVAL = {"val_size": 0.0, "eval_strategy": "no", "save_steps": 100}


@pytest.fixture(scope="module")
def sft_lora_run(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's sft_lora config (20 steps, lr 5e-3, eval every 10) run to its end."""
    workspace = copy_workspace(demo_workspace, tmp_path_factory.mktemp("sft-lora"))
    run_dir = prepare_run(workspace, "sft_lora", "sft_lora", compute_accuracy=True)
    assert run_child(run_dir) == 0, (run_dir / "stdout.log").read_text()[-3000:]
    return run_dir


def test_sft_lora_trains_and_writes_what_llama_factory_writes(sft_lora_run: Path) -> None:
    run = record(sft_lora_run)
    assert (run["state"], run["exit_code"], run["error"]) == ("finished", 0, None)
    assert run["pid"] and run["pgid"] and run["started_at"] <= run["ended_at"]
    for name in (
        "adapter_model.safetensors",
        "adapter_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "trainer_state.json",
        "all_results.json",
        "train_results.json",
        "eval_results.json",
        "checkpoint-10/adapter_model.safetensors",
        "checkpoint-20/trainer_state.json",
    ):
        assert (sft_lora_run / name).exists(), name
    steps = losses(sft_lora_run)
    assert [step for step, _ in steps] == list(range(1, 21))
    first, last = [loss for _, loss in steps[:5]], [loss for _, loss in steps[-5:]]
    assert sum(last) / 5 < sum(first) / 5 - 0.1
    line = next(line for line in trainer_log(sft_lora_run) if "loss" in line)
    assert {
        "current_steps",
        "total_steps",
        "loss",
        "lr",
        "epoch",
        "percentage",
        "elapsed_time",
        "remaining_time",
    } <= set(line)
    kinds = [event["kind"] for event in events(sft_lora_run)]
    assert kinds.count("checkpoint") == 2 and kinds.count("eval") >= 2 and kinds.count("log") >= 20
    states = [event["state"] for event in events(sft_lora_run) if event["kind"] == "state"]
    assert states == ["running", "finished"]
    metrics = json.loads((sft_lora_run / "all_results.json").read_text())
    assert {"train_loss", "eval_loss", "eval_accuracy"} <= set(metrics) and 0 <= metrics["eval_accuracy"] <= 1


def test_sft_predicts_with_the_trained_adapter(sft_lora_run: Path) -> None:
    workspace = sft_lora_run.parent.parent
    run_dir = prepare_run(
        workspace,
        "sft_lora",
        "predict",
        do_train=False,
        do_predict=True,
        predict_with_generate=True,
        adapter_name_or_path=str(sft_lora_run),
        dataset=None,
        eval_dataset="demo_identity",
        val_size=0.0,
        eval_strategy="no",
        max_samples=3,
        max_new_tokens=6,
        per_device_eval_batch_size=3,
    )
    assert run_child(run_dir) == 0, (run_dir / "stdout.log").read_text()[-3000:]
    lines = (run_dir / "generated_predictions.jsonl").read_text().splitlines()
    assert len(lines) == 3
    assert all(key in line for line in lines for key in ('"prompt"', '"predict"', '"label"'))
    assert (run_dir / "predict_results.json").exists()


@pytest.mark.parametrize(
    ("config_name", "values", "saved"),
    [
        ("sft_full", {"neat_packing": True, "cutoff_len": 128}, "model.safetensors"),
        ("sft_freeze", {}, "model.safetensors"),
        ("pt_lora", {"pissa_init": True, "pissa_iter": 2, "pissa_convert": True}, "adapter_model.safetensors"),
    ],
)
def test_other_methods_and_pt_train(
    demo_workspace: Path, tmp_path: Path, config_name: str, values: dict[str, Any], saved: str
) -> None:
    workspace = copy_workspace(demo_workspace, tmp_path)
    run_dir = prepare_run(workspace, config_name, config_name, max_steps=6, **NO_EVAL, **values)
    assert run_child(run_dir) == 0, (run_dir / "stdout.log").read_text()[-3000:]
    assert record(run_dir)["state"] == "finished"
    assert (run_dir / saved).exists() and (run_dir / "tokenizer.json").exists()
    assert [step for step, _ in losses(run_dir)] == list(range(1, 7))
    if values.get("pissa_convert"):
        assert (run_dir / "pissa_init" / "adapter_model.safetensors").exists()
        assert (run_dir / "pissa_converted" / "adapter_model.safetensors").exists()


def test_stop_then_resume_ends_with_the_losses_of_an_uninterrupted_run(demo_workspace: Path, tmp_path: Path) -> None:
    workspace = copy_workspace(demo_workspace, tmp_path)
    whole = prepare_run(workspace, "sft_lora", "whole", max_steps=16, **NO_EVAL)
    cut = prepare_run(workspace, "sft_lora", "cut", max_steps=16, **NO_EVAL)
    uninterrupted = start_child(whole)
    child = start_child(cut)
    wait_for_step(cut, 2)
    os.killpg(child.pid, signal.SIGTERM)
    assert child.wait(timeout=120) == 0
    assert uninterrupted.wait(timeout=600) == 0
    stopped = record(cut)
    assert stopped["state"] == "stopped"
    checkpoints = sorted(path.name for path in cut.glob("checkpoint-*"))
    assert len(checkpoints) == 1 and 2 <= int(checkpoints[0].split("-")[1]) < 16
    assert not (cut / "all_results.json").exists()
    assert run_child(cut, "--resume") == 0, (cut / "stdout.log").read_text()[-3000:]
    resumed = record(cut)
    assert resumed["state"] == "finished" and resumed["resumed_from"].endswith(checkpoints[0])
    assert [step for step, _ in losses(cut)] == list(range(1, 17))
    assert losses(cut) == pytest.approx(losses(whole), abs=1e-5)
    states = [event["state"] for event in events(cut) if event["kind"] == "state"]
    assert states == ["running", "stopped", "running", "finished"]


def test_broken_data_fails_the_run_with_the_error_recorded(demo_workspace: Path, tmp_path: Path) -> None:
    workspace = copy_workspace(demo_workspace, tmp_path)
    (workspace / "data" / "demo_sft.json").write_text('[{"instruction": "hi", "output": ', encoding="utf-8")
    run_dir = prepare_run(workspace, "sft_lora", "broken", **NO_EVAL)
    assert run_child(run_dir) == 1
    failed = record(run_dir)
    assert failed["state"] == "failed" and failed["exit_code"] == 1
    assert "demo_sft.json" in failed["error"]
    errors = [event for event in events(run_dir) if event["kind"] == "error"]
    assert len(errors) == 1 and errors[0]["message"] == failed["error"]
    assert events(run_dir)[-1] == {**events(run_dir)[-1], "kind": "state", "state": "failed"}


def test_two_process_data_parallel_sft_on_the_cpu(demo_workspace: Path, tmp_path: Path) -> None:
    """accelerate launch with 2 CPU processes (gloo) via the run launcher: both ranks train, rank 0 alone logs."""
    from lmf_engine.config import load_config
    from lmf_engine.runs.launcher import start_run

    workspace = copy_workspace(demo_workspace, tmp_path)
    overrides = ["output_dir=runs/ddp", "num_processes=2", "use_cpu=true", "max_steps=4", "val_size=0"]
    overrides += ["eval_strategy=no", "save_steps=100"]
    config = load_config(workspace / "configs" / "sft_lora.yaml", overrides)
    launched = start_run(config, workspace=workspace)
    assert launched.plan.uses_accelerate and launched.plan.num_processes == 2
    assert launched.process.wait(timeout=600) == 0
    run_dir = launched.run_dir
    output = (run_dir / "stdout.log").read_text()
    assert record(run_dir)["state"] == "finished", output[-3000:]
    assert "Process rank 0 of 2: finished" in output and "Process rank 1 of 2: finished" in output
    steps = losses(run_dir)
    assert [step for step, _ in steps] == [1, 2, 3, 4]
    epochs = [line["epoch"] for line in trainer_log(run_dir) if "loss" in line]
    # 141 rows shared by 2 processes in batches of 2: 36 steps an epoch (71 with one process)
    assert epochs[-1] == pytest.approx(4 / 36)
    progress = [event["step"] for event in events(run_dir) if event["kind"] == "progress" and "percentage" in event]
    assert progress == [1, 2, 3, 4]
