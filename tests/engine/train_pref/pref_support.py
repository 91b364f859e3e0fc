"""Helpers of the preference-stage tests: a private demo workspace, run folders, running a stage."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from lmf_engine.runs.record import RunRecord, write_run


def copy_workspace(demo_workspace: Path, target: Path) -> Path:
    """A private copy of the demo workspace (the session one is read-only)."""
    return Path(shutil.copytree(demo_workspace, target / "ws"))


def prepare_run(workspace: Path, config_name: str, name: str, **overrides: Any) -> Path:
    """``runs/<name>`` holding the demo config ``config_name`` with ``overrides`` and a queued run.json."""
    values = yaml.safe_load((workspace / "configs" / f"{config_name}.yaml").read_text(encoding="utf-8"))
    values.update(overrides)
    values["output_dir"] = f"runs/{name}"
    run_dir = workspace / "runs" / name
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(values), encoding="utf-8")
    write_run(run_dir, RunRecord(name=name, cwd=str(workspace)))
    return run_dir


def run_child(run_dir: Path, *args: str, timeout: float = 600) -> None:
    """``python -m lmf_engine.train RUN_DIR`` to its end; fails the test with the log tail on a non-zero exit."""
    with open(run_dir / "stdout.log", "ab") as log:
        code = subprocess.call(
            [sys.executable, "-m", "lmf_engine.train", str(run_dir), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )
    assert code == 0, (run_dir / "stdout.log").read_text(encoding="utf-8")[-4000:]


def run_in_process(run_dir: Path, resume: bool = False) -> None:
    """Train the run's stage in this process (no events), from its workspace as the child would."""
    from lmf_engine.train.entry import run_stage
    from lmf_engine.train.signals import StopRequest

    cwd = os.getcwd()
    os.chdir(run_dir.parent.parent)
    try:
        run_stage(run_dir, resume, StopRequest(), None)
    finally:
        os.chdir(cwd)


def log_history(run_dir: Path) -> list[dict[str, Any]]:
    """The training log entries of trainer_state.json (those with a training loss)."""
    history = json.loads((run_dir / "trainer_state.json").read_text(encoding="utf-8"))["log_history"]
    return [entry for entry in history if "loss" in entry]


def trainer_log(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "trainer_log.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def record(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "run.json").read_text(encoding="utf-8"))


def mean(values: list[float]) -> float:
    return sum(values) / len(values)
