"""``lmf-engine train`` for real: the demo's LoRA SFT config, detached, followed to the end by ``runs logs``."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lmf_engine.config import load_config
from lmf_engine.runs.record import read_run


def lmf(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lmf_engine", *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_train_demo_sft_lora_detached(demo_workspace: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    shutil.copytree(demo_workspace, workspace)
    started = lmf(
        workspace, "train", "configs/sft_lora.yaml", "max_steps=2", "save_steps=2", "eval_steps=2", "--detach"
    )
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "sft_lora"
    followed = lmf(workspace, "runs", "logs", "sft_lora", "--follow", "--json")
    run_dir = workspace / "runs" / "sft_lora"
    assert followed.returncode == 0, (run_dir / "stdout.log").read_text()[-3000:]
    events = [json.loads(line) for line in followed.stdout.splitlines()]
    assert [e["state"] for e in events if e["kind"] == "state"] == ["queued", "running", "finished"]
    assert any(e["kind"] == "eval" and "eval_loss" in e for e in events)
    record = read_run(run_dir)
    assert record.state == "finished" and record.exit_code == 0 and record.cwd == str(workspace)
    assert load_config(run_dir / "config.yaml").training.max_steps == 2
    for name in ("events.jsonl", "trainer_log.jsonl", "stdout.log", "trainer_state.json", "adapter_config.json"):
        assert (run_dir / name).is_file(), name
    assert (run_dir / "checkpoint-2").is_dir()
    progress = [json.loads(line) for line in (run_dir / "trainer_log.jsonl").read_text().splitlines()]
    assert progress[-1]["current_steps"] == progress[-1]["total_steps"] == 2
    listed = json.loads(lmf(workspace, "runs", "list", "--json").stdout)
    assert [(r["name"], r["state"]) for r in listed] == [("sft_lora", "finished")]
