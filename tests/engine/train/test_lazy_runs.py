"""Runs on lazy data: the events say how the data is prepared, and a run killed mid-encode resumes the encode."""

import json
import os
import signal
import time
from pathlib import Path

import pytest
from train_support import copy_workspace, events, prepare_run, run_child, start_child

from lmf_engine.data.pipeline import cache_root

pytestmark = pytest.mark.slow


def data_messages(run_dir: Path) -> list[str]:
    return [e["message"] for e in events(run_dir) if e["kind"] == "log" and e.get("phase") in ("data", "encode")]


def test_a_lazy_run_starts_at_once_and_reports_the_background_encoding(demo_workspace: Path, tmp_path: Path) -> None:
    workspace = copy_workspace(demo_workspace, tmp_path)
    run_dir = prepare_run(workspace, "sft_lora", "lazy", max_steps=4, eval_strategy="no", val_size=0.0)
    assert run_child(run_dir) == 0, (run_dir / "stdout.log").read_text()[-3000:]
    messages = data_messages(run_dir)
    assert messages[0] == "lazy preprocessing: training starts now; 141 rows are encoded as the trainer reads them"
    assert any(m.startswith(("encoding in background:", "encoded in background: all 141 rows")) for m in messages)
    packed_dir = prepare_run(workspace, "sft_lora", "packed", max_steps=4, neat_packing=True)
    assert run_child(packed_dir) == 0, (packed_dir / "stdout.log").read_text()[-3000:]
    assert data_messages(packed_dir)[0].startswith("lazy preprocessing: training starts now")
    eager_dir = prepare_run(workspace, "sft_lora", "eager", max_steps=4, lazy_preprocessing=False)
    assert run_child(eager_dir) == 0
    assert data_messages(eager_dir)[-1].endswith("(lazy preprocessing not used: lazy_preprocessing: false)")


def test_an_eager_run_killed_mid_encode_encodes_only_the_unfinished_shards_again(
    demo_workspace: Path, tmp_path: Path
) -> None:
    workspace = copy_workspace(demo_workspace, tmp_path)
    rows = [
        {"instruction": f"question {i} " * (i % 7 + 1), "input": "", "output": f"answer {i}"} for i in range(20000)
    ]
    (workspace / "data" / "big.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    info = json.loads((workspace / "data" / "dataset_info.json").read_text(encoding="utf-8"))
    info["big"] = {"file_name": "big.jsonl"}
    (workspace / "data" / "dataset_info.json").write_text(json.dumps(info), encoding="utf-8")
    overrides = {
        "dataset": "big",
        "lazy_preprocessing": False,
        "preprocessing_batch_size": 50,
        "max_samples": None,
        "val_size": 0.0,
        "eval_strategy": "no",
        "max_steps": 2,
    }
    run_dir = prepare_run(workspace, "sft_lora", "crash", **overrides)
    child = start_child(run_dir)
    markers = cache_root() / "encoding"
    deadline = time.monotonic() + 300
    while len(list(markers.glob("*/chunk-*.done"))) < 3:
        assert time.monotonic() < deadline and child.poll() is None, (run_dir / "stdout.log").read_text()[-3000:]
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    done = len(list(markers.glob("*/chunk-*.done")))
    assert run_child(run_dir) == 0, (run_dir / "stdout.log").read_text()[-3000:]
    plans = [m for m in data_messages(run_dir) if m.startswith("encoding training data")]
    assert plans == [
        "encoding training data: 16 of 16 shards to encode",
        f"encoding training data: {16 - done} of 16 shards to encode ({done} done by an earlier run)",
    ]
