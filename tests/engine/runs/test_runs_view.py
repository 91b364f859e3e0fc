"""The text a followed run prints: event lines, progress stats and ETA."""

from pathlib import Path

from lmf_engine.cli.run_view import end_summary
from lmf_engine.runs.describe import estimate_eta, format_event, progress_text, progress_values
from lmf_engine.runs.record import RunRecord
from lmf_engine.runs.store import RunInfo


def test_progress_values_read_llamafactory_and_transformers_names() -> None:
    lf = {
        "current_steps": 4,
        "total_steps": 10,
        "loss": 1.5,
        "lr": 1e-4,
        "throughput": 812.4,
        "remaining_time": "0:00:12",
    }
    hf = {"step": 4, "max_steps": 10, "train_loss": 1.5, "learning_rate": 1e-4, "remaining_s": 12}
    assert progress_values(lf) == {**progress_values(lf), "step": 4, "total": 10, "tokens_per_s": 812.4}
    assert progress_text(lf) == "loss 1.5000  lr 1.00e-04  812 tok/s  ETA 0:00:12"
    assert progress_text(hf) == "loss 1.5000  lr 1.00e-04  ETA 0:00:12"


def test_format_event_lines() -> None:
    progress = {"t": 0, "kind": "progress", "current_steps": 2, "total_steps": 8, "loss": 0.25}
    assert format_event(progress).split(None, 1)[1] == "progress   step 2/8  loss 0.2500"
    log = {"t": 0, "kind": "log", "message": "saving", "step": 3}
    assert format_event(log).endswith("log        saving  step 3")
    encode = {"t": 0, "kind": "log", "message": "encoding in background: 5 of 9 rows", "phase": "encode"}
    assert format_event(encode).endswith("log        encoding in background: 5 of 9 rows")
    state = {"t": 0, "kind": "state", "state": "queued", "command": ["python"], "num_processes": 2}
    assert format_event(state).endswith("state      queued  num_processes 2")
    assert format_event({"kind": "eval", "eval_loss": 0.123456}) == " eval       eval_loss 0.1235"


def test_estimate_eta_from_the_pace_between_events() -> None:
    first = {"t": 100.0, "current_steps": 0, "total_steps": 10}
    assert estimate_eta(first, {"t": 104.0, "current_steps": 2, "total_steps": 10}) == 16.0
    assert estimate_eta(first, first) is None
    assert estimate_eta(first, {"t": 104.0, "current_steps": 2}) is None
    assert progress_text({"loss": 1}, eta=75) == "loss 1.0000  ETA 0:01:15"


def test_end_summary() -> None:
    record = RunRecord(name="a", state="failed", started_at=10.0, ended_at=95.0, error="CUDA out of memory")
    info = RunInfo("a", Path("/runs/a"), "run", "failed", record)
    assert end_summary(info) == "run a failed in 0:01:25: CUDA out of memory"
