"""``lmf-engine train`` and ``lmf-engine runs ...`` as a user runs them (subprocesses, fake trainer)."""

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from runs_support import wait_for

from lmf_engine.runs.record import read_run

DRIVER = Path(__file__).with_name("cli_driver.py")


@pytest.fixture
def cli_workspace(workspace: Path) -> Path:
    shutil.copy(DRIVER, workspace / "cli_driver.py")
    (workspace / "train.yaml").write_text(
        "model_name_or_path: fake/model\noutput_dir: runs/demo\nmax_steps: 3\nlearning_rate: 1.0e-3\n"
    )
    return workspace


def lmf(workspace: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "cli_driver.py", *args], cwd=workspace, capture_output=True, text=True, timeout=timeout
    )


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_train_detached_then_list_show_logs(cli_workspace: Path) -> None:
    result = lmf(cli_workspace, "train", "train.yaml", "max_steps=3", "--detach")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "demo" and "lmf-engine runs stop demo" in result.stderr
    run_dir = cli_workspace / "runs" / "demo"
    wait_for(lambda: read_run(run_dir).final)
    listed = json.loads(lmf(cli_workspace, "runs", "list", "--json").stdout)
    assert [(r["name"], r["state"], r["progress"]["current_steps"]) for r in listed] == [("demo", "finished", 3)]
    shown = json.loads(lmf(cli_workspace, "runs", "show", "demo", "--json").stdout)
    assert shown["state"] == "finished" and shown["newest_checkpoint"] == str(run_dir / "checkpoint-3")
    assert shown["config_path"] == str(cli_workspace / "train.yaml")
    text = lmf(cli_workspace, "runs", "show", str(run_dir)).stdout
    assert "state: finished" in text and "loss 0.6667" in text
    events = json_lines(lmf(cli_workspace, "runs", "logs", "demo", "--json").stdout)
    assert [e["kind"] for e in events][-2:] == ["checkpoint", "state"]
    logs = lmf(cli_workspace, "runs", "logs", "demo", "-n", "3").stdout.splitlines()
    assert len(logs) == 3 and "step 3/3" in logs[0] and "loss 0.6667" in logs[0]
    assert "fake trainer: finished" in lmf(cli_workspace, "runs", "logs", "demo", "--stdout").stdout
    table = lmf(cli_workspace, "runs", "list").stdout
    assert "demo" in table and "finished" in table and "3/3" in table


def test_train_follows_to_the_end_and_exits_with_its_state(
    cli_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = lmf(cli_workspace, "train", "train.yaml", "--json")
    assert result.returncode == 0, result.stderr
    lines = json_lines(result.stdout)
    assert lines[0]["name"] == "demo" and lines[0]["pid"] > 0
    assert [e["state"] for e in lines[1:] if e["kind"] == "state"] == ["queued", "running", "finished"]
    again = lmf(cli_workspace, "train", "train.yaml")
    assert again.returncode == 2 and "holds the finished run 'demo'" in again.stderr
    monkeypatch.setenv("FAKE_TRAINER_MODE", "crash")
    crashed = lmf(cli_workspace, "train", "train.yaml", "overwrite_output_dir=true")
    assert crashed.returncode == 1
    assert "run demo failed" in crashed.stderr and "fake trainer: boom" in crashed.stderr
    assert read_run(cli_workspace / "runs" / "demo").exit_code == 3


def test_config_errors_exit_2_before_anything_starts(cli_workspace: Path) -> None:
    (cli_workspace / "bad.yaml").write_text("output_dir: runs/bad\nlerning_rate: 1\n")
    result = lmf(cli_workspace, "train", "bad.yaml")
    assert result.returncode == 2
    assert "bad.yaml:2: lerning_rate: unknown key; did you mean learning_rate?" in result.stderr
    assert not (cli_workspace / "runs" / "bad").exists()
    missing = lmf(cli_workspace, "train", "nope.yaml")
    assert missing.returncode == 2 and "nope.yaml: no such config file" in missing.stderr
    unknown = lmf(cli_workspace, "runs", "show", "nope")
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: no run 'nope'")


def test_stop_then_resume(cli_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_TRAINER_MODE", "wait")
    assert lmf(cli_workspace, "train", "train.yaml", "--detach").returncode == 0
    run_dir = cli_workspace / "runs" / "demo"
    wait_for(lambda: read_run(run_dir).state == "running")
    stopped = lmf(cli_workspace, "runs", "stop", "demo", "--json")
    assert stopped.returncode == 0 and json.loads(stopped.stdout)["state"] in ("stopping", "stopped")
    followed = lmf(cli_workspace, "runs", "logs", "demo", "--follow", "--json")
    assert followed.returncode == 3
    assert json_lines(followed.stdout)[-1] == {**json_lines(followed.stdout)[-1], "kind": "state", "state": "stopped"}
    again = lmf(cli_workspace, "runs", "stop", "demo")
    assert again.returncode == 2 and "is not running (state stopped)" in again.stderr
    monkeypatch.setenv("FAKE_TRAINER_MODE", "finish")
    resumed = lmf(cli_workspace, "runs", "resume", "demo", "--json")
    assert resumed.returncode == 0, resumed.stderr
    states = [e["state"] for e in json_lines(resumed.stdout)[1:] if e["kind"] == "state"]
    assert states == ["queued", "running", "finished"]
    assert lmf(cli_workspace, "runs", "delete", "demo", "--yes").returncode == 0
    assert not run_dir.exists()


def test_ctrl_c_detaches_and_the_run_goes_on(cli_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_TRAINER_STEPS", "40")
    monkeypatch.setenv("FAKE_TRAINER_DELAY", "0.1")
    follower = subprocess.Popen(
        [sys.executable, "cli_driver.py", "train", "train.yaml"],
        cwd=cli_workspace,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run_dir = cli_workspace / "runs" / "demo"
    try:
        wait_for(lambda: (run_dir / "run.json").exists() and read_run(run_dir).state == "running")
        follower.send_signal(signal.SIGINT)
        _, err = follower.communicate(timeout=30)
    finally:
        if follower.poll() is None:
            follower.kill()
    assert follower.returncode == 0, err
    assert "run demo keeps going" in err and "lmf-engine runs stop demo" in err
    assert read_run(run_dir).state == "running"
    assert wait_for(lambda: read_run(run_dir).final, timeout=30)
    assert read_run(run_dir).state == "finished"


def test_commands_do_not_import_torch_in_the_parent(cli_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record = cli_workspace / "heavy.json"
    monkeypatch.setenv("HEAVY_MODULES_FILE", str(record))
    for args in (
        ["train", "train.yaml", "--detach"],
        ["runs", "list"],
        ["runs", "show", "demo"],
        ["runs", "logs", "demo"],
    ):
        result = lmf(cli_workspace, *args)
        assert result.returncode == 0, result.stderr
        assert json.loads(record.read_text()) == [], args
    wait_for(lambda: read_run(cli_workspace / "runs" / "demo").final)
