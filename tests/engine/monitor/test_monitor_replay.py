"""Samples as JSON (the system.jsonl form), their summary, and replaying a recorded file."""

import json
from pathlib import Path

import pytest
from monitor_support import sample_dict, write_samples

from lmf_engine.monitor.records import read_samples, run_system_summary
from lmf_engine.monitor.sampler import open_sampler
from lmf_engine.monitor.samples import SystemSample
from lmf_engine.monitor.sources import LiveSource, ReplayError, ReplaySource
from lmf_engine.monitor.summary import summarize


def test_a_sample_round_trips_through_json(sample_file: Path) -> None:
    line = sample_file.read_text().splitlines()[0]
    sample = SystemSample.from_dict(json.loads(line))
    assert json.loads(json.dumps(sample.to_dict())) == json.loads(line)
    assert sample.gpus[0].processes[0].run and sample.gpus[0].run_mem_mb == 60416.0
    assert SystemSample.from_dict({"t": "x", "gpus": [{"util": "busy"}], "host": None}).gpus[0].util is None


def test_summary_per_device_and_host(sample_file: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "system.jsonl").write_bytes(sample_file.read_bytes() + b'{"t": 1011.0, "gpus": [')  # half written
    summary = run_system_summary(run_dir)
    assert (summary.samples, summary.first_t, summary.last_t) == (3, 1000.0, 1010.0)
    gpu0, gpu1 = summary.devices
    assert (gpu0.peak_mem_mb, gpu0.peak_run_mem_mb, gpu0.mean_util, gpu0.max_temp_c) == (71680.0, 70656.0, 95.0, 60.0)
    assert (gpu1.peak_mem_mb, gpu1.peak_run_mem_mb, gpu1.mean_util) == (1024.0, None, 0.0)
    assert (summary.peak_ram_mb, summary.mean_cpu_percent, summary.peak_gpu_mem_mb) == (24576.0, 20.0, 70656.0)
    assert summarize([]).to_dict()["peak_gpu_mem_mb"] is None


def test_replay_loops_in_order_with_t_now(sample_file: Path) -> None:
    now = iter(range(100, 200))
    source = ReplaySource(sample_file, clock=lambda: float(next(now)))
    readings = [source.read() for _ in range(7)]
    assert [r.gpus[0].util for r in readings] == [90.0, 95.0, 100.0, 90.0, 95.0, 100.0, 90.0]
    assert [r.t for r in readings] == [100.0, 101.0, 102.0, 103.0, 104.0, 105.0, 106.0]
    readings[0].gpus[0].processes[0].run = False
    assert readings[3].gpus[0].processes[0].run, "each reading is a fresh object"
    recorded, _ = read_samples(sample_file)
    assert [r.to_dict() | {"t": 0} for r in readings[3:6]] == [s.to_dict() | {"t": 0} for s in recorded]


def test_replay_refuses_a_missing_or_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="no such sample file"):
        ReplaySource(tmp_path / "nope.jsonl")
    with pytest.raises(ReplayError, match="no samples to replay"):
        ReplaySource(write_samples(tmp_path / "empty.jsonl", []))


def test_open_sampler_replays_the_file_named_by_the_environment(tmp_path: Path) -> None:
    path = write_samples(tmp_path / "s.jsonl", [sample_dict(1.0, 42.0, 2048.0, 5.0, 1024.0)])
    sampler = open_sampler({"LMF_MONITOR_REPLAY": str(path)})
    assert isinstance(sampler.source, ReplaySource) and sampler.sample_now().gpus[0].util == 42.0
    live = open_sampler({}, interval=2.0, disk_path=tmp_path)
    assert isinstance(live.source, LiveSource) and live.source.host.disk_path == tmp_path and live.interval == 2.0
    with pytest.raises(ReplayError):
        open_sampler({"LMF_MONITOR_REPLAY": str(tmp_path / "missing.jsonl")})
