"""The run's own system.jsonl: the recorder thread, its interval variable, its errors; the training child's hook."""

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from monitor_support import MIB, FakeNvml

from lmf_engine.monitor.recorder import DEFAULT_INTERVAL_S, RunRecorder, start_run_recorder, system_interval
from lmf_engine.monitor.records import read_samples
from lmf_engine.runs.record import read_run


def wait_for_lines(path: Path, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and len(path.read_text().splitlines()) >= count):
        assert time.monotonic() < deadline, f"{path} did not reach {count} lines"
        time.sleep(0.01)


def test_system_interval() -> None:
    assert system_interval({}) == DEFAULT_INTERVAL_S == 5.0
    assert system_interval({"LMF_SYSTEM_INTERVAL": " 0.5 "}) == 0.5
    for bad in ("0", "-1", "soon", "inf"):
        with pytest.raises(ValueError, match=f"LMF_SYSTEM_INTERVAL='{bad}': expected a number of seconds"):
            system_interval({"LMF_SYSTEM_INTERVAL": bad})


def test_the_recorder_appends_samples_with_the_run_marked(fake_nvml: FakeNvml, tmp_path: Path) -> None:
    fake_nvml.devices[0].processes = [(os.getpid(), 3072 * MIB), (1, 100 * MIB)]
    recorder = RunRecorder(tmp_path, interval=0.02)
    recorder.start()
    wait_for_lines(tmp_path / "system.jsonl", 3)
    recorder.stop()
    samples, _ = read_samples(tmp_path / "system.jsonl")
    count = len(samples)
    time.sleep(0.1)
    assert len(read_samples(tmp_path / "system.jsonl")[0]) == count, "stopped: nothing more is written"
    assert count >= 4 and not recorder.failed
    marks = {p.pid: p.run for p in samples[-1].gpus[0].processes}
    assert marks == {os.getpid(): True, 1: False}, "the recorder watches its own process group"
    assert samples[-1].host.ram_total_mb and samples[-1].gpu_error is None
    assert [s.t for s in samples] == sorted(s.t for s in samples)


def test_a_write_error_is_logged_once_and_recording_stops(
    fake_nvml: FakeNvml, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "system.jsonl").symlink_to("/dev/full")
    recorder = RunRecorder(tmp_path, interval=0.02)
    with caplog.at_level(logging.WARNING, logger="lmf_engine.monitor.recorder"):
        recorder.start()
        deadline = time.monotonic() + 10
        while not recorder.failed and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        recorder.stop()
    assert recorder.failed
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and "System samples are no longer recorded" in messages[0]
    assert "No space left on device" in messages[0]


def test_a_bad_interval_variable_is_logged_and_the_default_used(
    fake_nvml: FakeNvml, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="lmf_engine.monitor.recorder"):
        recorder = start_run_recorder(tmp_path, {"LMF_SYSTEM_INTERVAL": "fast"})
    try:
        assert recorder.interval == DEFAULT_INTERVAL_S
        assert "LMF_SYSTEM_INTERVAL='fast': expected a number of seconds greater than 0" in caplog.text
        wait_for_lines(tmp_path / "system.jsonl", 1)
    finally:
        recorder.stop()
    assert len(read_samples(tmp_path / "system.jsonl")[0]) == 2, "the first sample at once, one last at stop"


@pytest.mark.slow
def test_the_training_child_records_its_samples_even_when_it_fails(tmp_path: Path) -> None:
    """The real child on a config whose model is missing: it fails after a few seconds, samples recorded."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("model_name_or_path: /nonexistent/model\nstage: sft\ndataset: none\n")
    env = {**os.environ, "LMF_SYSTEM_INTERVAL": "0.2", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "lmf_engine.train", str(run_dir)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        start_new_session=True,
    )
    assert result.returncode == 1 and read_run(run_dir).state == "failed", result.stdout[-2000:]
    samples, _ = read_samples(run_dir / "system.jsonl")
    assert len(samples) >= 2
    assert samples[-1].t <= read_run(run_dir).ended_at, "the last sample comes before the run is recorded ended"
    assert all(s.host.ram_total_mb for s in samples)
