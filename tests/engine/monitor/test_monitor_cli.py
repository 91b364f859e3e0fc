"""``lmf-engine monitor`` and the system part of ``lmf-engine runs show``."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from monitor_support import MIB, FakeNvml
from typer.testing import CliRunner, Result

from lmf_engine.cli.main import app
from lmf_engine.monitor.records import read_samples
from lmf_engine.runs.record import RunRecord, write_run


def lmf(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


@pytest.fixture(autouse=True)
def no_replay_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LMF_MONITOR_REPLAY", raising=False)


def make_run(root: Path, name: str, *, state: str = "finished", pgid: int | None = None) -> Path:
    """A run folder holding only run.json (its process is the group leader ``pgid``)."""
    run_dir = root / name
    run_dir.mkdir(parents=True)
    write_run(run_dir, RunRecord(name=name, state=state, pid=pgid, pgid=pgid, started_at=1000.0))
    return run_dir


def test_count_replay_and_record(sample_file: Path, tmp_path: Path) -> None:
    record = tmp_path / "out" / "recorded.jsonl"
    result = lmf(
        "monitor", "--count", "2", "--interval", "0.05", "--replay", str(sample_file), "--record", str(record)
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("lmf-engine monitor") == 2
    assert result.output.count("GPU 0  NVIDIA H200") == 2 and result.output.count("Host  16 cores") == 2
    assert "util ██████████████████░░ 90%" in result.output and "util ███████████████████░ 95%" in result.output
    assert "▶ 4242 python" in result.output
    recorded, _ = read_samples(record)
    assert [s.gpus[0].util for s in recorded] == [90.0, 95.0]


def test_a_run_is_marked_from_its_record(
    fake_nvml: FakeNvml, tmp_path: Path, session_child: subprocess.Popen[bytes]
) -> None:
    fake_nvml.devices[0].processes = [(session_child.pid, 2048 * MIB), (os.getpid(), 512 * MIB)]
    make_run(tmp_path / "runs", "demo", state="running", pgid=session_child.pid)
    result = lmf("monitor", "-n", "1", "--run", "demo", "--root", str(tmp_path / "runs"))
    assert result.exit_code == 0, result.output
    assert "run demo ▶" in result.output
    assert re.search(rf"▶ +{session_child.pid} sleep", result.output)  # pids are right-aligned in their column
    assert re.search(rf"  +{os.getpid()} ", result.output)
    assert "68.7/140.4 GiB, run 2.0 GiB" in result.output


def test_no_driver_says_so_and_shows_the_host(fake_nvml: FakeNvml) -> None:
    fake_nvml.init_error = "LIBRARY_NOT_FOUND"
    result = lmf("monitor", "--count", "1")
    assert result.exit_code == 0, result.output
    assert "GPU  no NVIDIA driver found (NVML: NVML Shared Library Not Found)" in result.output
    assert "Host" in result.output and "ram" in result.output


def test_user_errors_exit_2(tmp_path: Path) -> None:
    missing = lmf("monitor", "-n", "1", "--replay", str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 2 and "no such sample file to replay" in missing.output
    no_run = lmf("monitor", "-n", "1", "--run", "ghost", "--root", str(tmp_path))
    assert no_run.exit_code == 2 and "no run 'ghost'" in no_run.output
    make_run(tmp_path, "queued", state="queued")
    waiting = lmf("monitor", "-n", "1", "--run", "queued", "--root", str(tmp_path))
    assert waiting.exit_code == 2 and "has no process yet" in waiting.output


def test_ctrl_c_quits_cleanly(sample_file: Path, tmp_path: Path) -> None:
    monitor = subprocess.Popen(
        [sys.executable, "-m", "lmf_engine", "monitor", "--replay", str(sample_file), "--interval", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert monitor.stdout is not None
    deadline = time.monotonic() + 60
    while "Host" not in monitor.stdout.readline():
        assert time.monotonic() < deadline and monitor.poll() is None
    monitor.send_signal(signal.SIGINT)
    _, err = monitor.communicate(timeout=30)
    assert monitor.returncode == 0 and "Traceback" not in err, err


def test_runs_show_reports_the_system_summary(sample_file: Path, tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, "demo")
    (run_dir / "system.jsonl").write_bytes(sample_file.read_bytes())
    text = lmf("runs", "show", "demo", "--root", str(tmp_path))
    assert text.exit_code == 0, text.output
    lines = text.output.splitlines()
    assert "       system: 3 samples over 0:00:10" in lines
    gpu0 = "GPU 0: NVIDIA H200, peak memory 70.0/140.4 GiB, the run's peak 69.0 GiB, mean util 95%, max 60°C"
    assert f"        {gpu0}" in lines
    assert "        GPU 1: NVIDIA H200, peak memory 1.0/140.4 GiB, mean util 0%, max 61°C" in lines
    assert "peak host RAM: 24.0 GiB" in lines and "mean host CPU: 20%" in lines
    shown = json.loads(lmf("runs", "show", "demo", "--root", str(tmp_path), "--json").output)
    system = shown["system"]
    assert (system["samples"], system["peak_ram_mb"], system["mean_cpu_percent"]) == (3, 24576.0, 20.0)
    assert [(d["index"], d["peak_mem_mb"], d["peak_run_mem_mb"], d["mean_util"]) for d in system["devices"]] == [
        (0, 71680.0, 70656.0, 95.0),
        (1, 1024.0, None, 0.0),
    ]
    assert system["peak_gpu_mem_mb"] == 70656.0


def test_runs_show_without_samples_says_nothing(tmp_path: Path) -> None:
    make_run(tmp_path, "quiet")
    text = lmf("runs", "show", "quiet", "--root", str(tmp_path)).output
    assert "system" not in text and "GPU" not in text
    assert json.loads(lmf("runs", "show", "quiet", "--root", str(tmp_path), "--json").output)["system"] is None
