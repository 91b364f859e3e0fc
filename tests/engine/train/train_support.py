"""Helpers of the end-to-end training tests: a copy of the demo workspace, run folders, the child process."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from lmf_engine.runs.record import RunRecord, write_run


def copy_workspace(demo_workspace: Path, tmp_path: Path) -> Path:
    """A private copy of the demo workspace (the session one is read-only)."""
    return Path(shutil.copytree(demo_workspace, tmp_path / "ws"))


def prepare_run(workspace: Path, config_name: str, name: str, **overrides: Any) -> Path:
    """``runs/<name>`` holding the demo config ``config_name`` with ``overrides``, and a queued run.json.

    Encoded data is reused from the session's cache (``overwrite_cache: false``) unless an override says otherwise.
    """
    values = yaml.safe_load((workspace / "configs" / f"{config_name}.yaml").read_text(encoding="utf-8"))
    values.update({"overwrite_cache": False, **overrides})
    values["output_dir"] = f"runs/{name}"
    run_dir = workspace / "runs" / name
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(values), encoding="utf-8")
    write_run(run_dir, RunRecord(name=name, cwd=str(workspace)))
    return run_dir


def start_child(run_dir: Path, *args: str) -> subprocess.Popen[bytes]:
    """``python -m lmf_engine.train RUN_DIR`` in its own session, output appended to stdout.log."""
    with open(run_dir / "stdout.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "lmf_engine.train", str(run_dir), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def run_child(run_dir: Path, *args: str, timeout: float = 600) -> int:
    """Run the child to its end; its exit code."""
    return start_child(run_dir, *args).wait(timeout=timeout)


def record(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "run.json").read_text(encoding="utf-8"))


def events(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def trainer_log(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "trainer_log.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def losses(run_dir: Path) -> list[tuple[int, float]]:
    """(step, training loss) from trainer_log.jsonl."""
    return [(line["current_steps"], line["loss"]) for line in trainer_log(run_dir) if "loss" in line]


def wait_for_step(run_dir: Path, step: int, timeout: float = 300) -> None:
    """Wait until events.jsonl reports a finished training step >= ``step``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (run_dir / "events.jsonl").exists():
            seen = events(run_dir)
            if [e for e in seen if e["kind"] == "progress" and e.get("step", 0) >= step]:
                return
            if [e for e in seen if e["kind"] == "state" and e["state"] == "failed"]:
                errors = [e["message"] for e in seen if e["kind"] == "error"]
                raise AssertionError(f"the run failed before step {step}: {errors}\n{_log_excerpt(run_dir)}")
        time.sleep(0.1)
    raise AssertionError(f"no step {step} after {timeout}s:\n{_log_excerpt(run_dir)}")


def _log_excerpt(run_dir: Path) -> str:
    """The log's tracebacks and error lines, then its end."""
    lines = (run_dir / "stdout.log").read_text(errors="replace").splitlines()
    marked = [i for i, line in enumerate(lines) if "Traceback" in line or "Error" in line]
    picked = sorted({j for i in marked for j in range(i, min(i + 40, len(lines)))})
    return "\n".join(lines[j] for j in picked)[-6000:] + "\n...\n" + "\n".join(lines)[-2000:]
