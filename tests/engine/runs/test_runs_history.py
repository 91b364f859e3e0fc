"""RunHistory: a run folder read incrementally into series, progress, events, stdout and system samples."""

import json
import math
import os
import shutil
from array import array
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import pytest
from fixtures.fake_runs import STEP_SECONDS, append_steps, write_fake_lf_run, write_fake_run

from lmf_engine.monitor.records import read_samples
from lmf_engine.monitor.samples import SystemSample
from lmf_engine.monitor.summary import SummaryAccumulator, summarize
from lmf_engine.runs.history import RunHistory
from lmf_engine.runs.system_history import GpuPeak, ThinnedSamples
from lmf_engine.runs.tail import FileTail, TailState, json_objects

GPU_SAMPLES = Path(__file__).parents[2] / "fixtures" / "gpu_samples.jsonl"


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _append(path: Path, *events: dict, newline: bool = True) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("\n".join(json.dumps(event) for event in events) + ("\n" if newline else ""))


def test_a_finished_run_gives_every_metric_progress_events_and_checkpoints(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path / "run", 40, eval_every=10, save_every=20)
    history = RunHistory(run)
    assert history.refresh()
    series = history.series
    assert {"loss", "grad_norm", "lr", "epoch", "eval_loss", "eval_runtime", "tokens_per_s", "samples_per_s"} <= set(
        series
    )
    assert not {"step", "t", "kind", "total_steps"} & set(series)
    assert len(series["loss"]) == 40 and list(series["loss"].steps) == list(range(1, 41))
    assert list(series["eval_loss"].steps) == [10, 20, 30, 40]
    logged = [e["loss"] for e in _lines(run / "events.jsonl") if e["kind"] == "log" and "loss" in e]
    assert list(series["loss"].values) == logged
    assert series["loss"].best == min(logged) and series["loss"].last == logged[-1]
    assert len(history.tokens) == 40 and list(history.tokens.values) == sorted(history.tokens.values)
    # samples/s: steps per second between progress events x 2 (batch) x 4 (accumulation) x 1 process
    rates = series["samples_per_s"].values
    assert all(8 / (1.2 * STEP_SECONDS) < rate < 8 / (0.8 * STEP_SECONDS) for rate in rates)
    progress = history.progress
    assert (progress.step, progress.total, progress.phase, progress.percentage) == (40, 40, "train", 100.0)
    assert progress.samples_per_s == rates[-1] and progress.tokens_seen == history.tokens.last
    assert progress.tokens_per_s == series["tokens_per_s"].last and progress.eta_s == 0.0
    kinds = [event["kind"] for event in history.events]
    assert "progress" not in kinds and kinds.count("eval") == 4 and kinds.count("checkpoint") == 2
    assert kinds[:2] == ["state", "state"] and history.events[-1] == {**history.events[-1], "state": "finished"}
    assert history.checkpoints == ["checkpoint-20", "checkpoint-40"]
    assert history.stdout[-1] == f"  train_loss = {logged[-1]}"
    assert history.info.state == "finished" and history.info.kind == "run"
    assert len(history.system) == 4
    assert history.system_summary == summarize(read_samples(run / "system.jsonl")[0])
    assert history.refresh() is False


def test_only_new_bytes_are_read_and_a_half_written_line_waits(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path / "run", 10, state="running", total_steps=100)
    history = RunHistory(run)
    history.refresh()
    assert history.info.state == "running" and len(history.series["loss"]) == 10
    append_steps(run, 11, 5)
    assert history.refresh()
    assert len(history.series["loss"]) == 15 and history.progress.step == 15 and history.progress.total == 100
    line = json.dumps({"t": 2e9, "kind": "log", "step": 16, "loss": 0.5})
    with open(run / "events.jsonl", "a") as handle:
        handle.write(line[:20])
    with open(run / "stdout.log", "a") as handle:
        handle.write("half a li")
    assert history.refresh() is False  # half lines are not news
    assert len(history.series["loss"]) == 15 and history.stdout[-1] != "half a li"
    with open(run / "events.jsonl", "a") as handle:
        handle.write(line[20:] + "\n")
    with open(run / "stdout.log", "a") as handle:
        handle.write("ne\n")
    assert history.refresh()
    assert history.series["loss"].last == 0.5 and history.stdout[-1] == "half a line"


def test_a_replaced_or_shrunk_file_is_read_again_from_the_start(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path / "run", 30)
    history = RunHistory(run)
    history.refresh()
    events = (run / "events.jsonl").read_text().splitlines(keepends=True)
    (run / "events.jsonl").write_text("".join(events[:23]))  # same file, shorter: the queued..step-10 events
    assert history.refresh()
    assert len(history.series["loss"]) == 10 and history.progress.step == 10
    replacement = run / "events.new"
    replacement.write_text("".join(events[:43]))
    os.replace(replacement, run / "events.jsonl")
    history.refresh()
    assert len(history.series["loss"]) == 20
    rewritten = "".join(events[:43]).replace('"loss": ', '"loss": 1')  # same length class, other bytes
    (run / "events.jsonl").write_text(rewritten + "".join(events[43:47]))
    history.refresh()
    assert len(history.series["loss"]) == 22 and history.series["loss"].values[0] > 10


def test_a_resumed_run_drops_the_steps_it_logs_again(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path / "run", 30, state="running", total_steps=100)
    history = RunHistory(run)
    history.refresh()
    t = 2e9
    _append(
        run / "events.jsonl",
        {"t": t, "kind": "state", "state": "queued", "resume": True, "num_processes": 2},
        {"t": t + 1, "kind": "progress", "step": 20, "total_steps": 100, "phase": "train"},
        {"t": t + 2, "kind": "progress", "step": 21, "total_steps": 100, "tokens": 5, "phase": "train"},
        {"t": t + 2, "kind": "log", "step": 21, "loss": 9.5, "lr": 1e-5},
        {"t": t + 3, "kind": "progress", "step": 22, "total_steps": 100, "tokens": 6, "phase": "train"},
    )
    history.refresh()
    loss = history.series["loss"]
    assert list(loss.steps) == list(range(1, 22)) and loss.last == 9.5
    assert list(history.tokens.steps)[-3:] == [20, 21, 22] and history.tokens.last == 6
    # a new queued event: 2 processes; one step in one second after the resume
    assert history.series["samples_per_s"].last == pytest.approx(2 * 4 * 2) and history.progress.step == 22
    assert history.series["grad_norm"].steps[-1] == 20


def test_a_llamafactory_folder_is_read_from_its_trainer_log(tmp_path: Path) -> None:
    out = write_fake_lf_run(tmp_path / "lf", 40, eval_every=20, logging_steps=5)
    history = RunHistory(out)
    history.refresh()
    assert history.info.kind == "llamafactory" and history.info.state == "finished"
    series = history.series
    assert list(series["loss"].steps) == [5, 10, 15, 20, 25, 30, 35, 40]
    assert list(series["eval_loss"].steps) == [20, 40] and "lr" in series and "epoch" in series
    assert not {"current_steps", "total_steps", "percentage"} & set(series)
    assert len(history.tokens) == 0 and "tokens_per_s" not in series
    progress = history.progress
    assert (progress.step, progress.total, progress.samples_per_s, progress.phase) == (40, 40, None, None)
    hours, minutes, seconds = _lines(out / "trainer_log.jsonl")[-1]["elapsed_time"].split(":")
    assert progress.elapsed_s == int(hours) * 3600 + int(minutes) * 60 + int(seconds) > 0
    assert progress.updated_t == pytest.approx((out / "trainer_log.jsonl").stat().st_mtime)
    # LLaMA-Factory resumed from a checkpoint logs steps again: the later points go
    _append(
        out / "trainer_log.jsonl",
        {"current_steps": 30, "total_steps": 40, "loss": 7.0, "throughput": 100.0, "total_tokens": 3000},
    )
    history.refresh()
    assert list(series["loss"].steps) == [5, 10, 15, 20, 25, 30] and series["loss"].last == 7.0
    assert list(series["eval_loss"].steps) == [20] and history.tokens.last == 3000


def test_a_live_llamafactory_folder_grows(tmp_path: Path) -> None:
    out = write_fake_lf_run(tmp_path / "lf", 20, total_steps=100, finished=False, logging_steps=5)
    history = RunHistory(out)
    history.refresh()
    assert history.info.state == "unknown" and history.progress.step == 20
    append_steps(out, 21, 10)
    assert history.refresh()
    assert history.progress.step == 30 and list(history.series["loss"].steps) == [5, 10, 15, 20, 25, 30]


@pytest.mark.parametrize("stage", ["sft", "pt", "dpo", "kto", "rm", "ppo"])
def test_fake_run_configs_are_valid_configs(tmp_path: Path, stage: str) -> None:
    from lmf_engine.config import load_config

    run = write_fake_run(tmp_path / stage, 3, stage=stage, eval_every=2, finetuning_type="freeze")
    config = load_config(run / "config.yaml")
    assert (config.finetuning.stage, config.training.max_steps) == (stage, 3)
    out = write_fake_lf_run(tmp_path / f"lf-{stage}", 3, stage=stage)
    assert load_config(out / "training_args.yaml").finetuning.stage == stage


def test_a_lost_run_reads_as_failed(tmp_path: Path) -> None:
    history = RunHistory(write_fake_run(tmp_path / "run", 5, state="lost"))
    history.refresh()
    assert history.info.state == "failed" and history.info.lost
    assert "last lines of stdout.log" in (history.info.record.error or "")


def test_memory_stays_bounded(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path / "run", 200, eval_every=5)
    history = RunHistory(run, max_events=5, stdout_lines=3, max_samples=6)
    history.refresh()
    assert len(history.events) == 5 and history.events[-1]["state"] == "finished"
    assert len(history.stdout) == 3
    samples = read_samples(run / "system.jsonl")[0]
    assert len(samples) == 20 and len(history.system) <= 6
    assert history.system[-1] == samples[-1] and history.system[0] == samples[0]
    assert history.system_summary == summarize(samples)
    assert isinstance(history.series["loss"].steps, array) and isinstance(history.series["loss"].values, array)


def test_thinning_keeps_an_even_spread_and_the_newest_sample() -> None:
    thinned = ThinnedSamples(10)
    for index in range(1001):
        thinned.add(SystemSample(t=float(index)))
        assert len(thinned.samples) <= 10 and thinned.samples[-1].t == index
    times = [s.t for s in thinned.samples]
    gaps = {b - a for a, b in pairwise(times[:-1])}  # the last may be the newest, kept off the stride
    assert times[0] == 0 and len(gaps) == 1 and len(times) >= 5


def test_incremental_summary_and_peak_equal_the_summary_of_all_samples(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path / "run", 60, num_processes=2)
    samples = read_samples(GPU_SAMPLES)[0] + read_samples(run / "system.jsonl")[0]
    samples.append(SystemSample(t=1.0, gpu_error="NVML: driver not loaded"))
    accumulator, peak = SummaryAccumulator(), GpuPeak()
    for sample in samples:
        accumulator.add(sample)
        peak.add(sample.to_dict())
    assert accumulator.summary() == summarize(samples)
    assert peak.peak_mb == summarize(samples).peak_gpu_mem_mb
    assert GpuPeak().peak_mb is None


@pytest.mark.parametrize("damage", ["no queued event", "broken config"])
def test_samples_per_s_needs_the_number_of_processes_and_the_batch(tmp_path: Path, damage: str) -> None:
    run = write_fake_run(tmp_path / "run", 10)
    if damage == "no queued event":
        lines = (run / "events.jsonl").read_text().splitlines(keepends=True)
        (run / "events.jsonl").write_text("".join(lines[1:]))
    else:
        (run / "config.yaml").write_text("per_device_train_batch_size: [unclosed\n")
    history = RunHistory(run)
    history.refresh()
    assert "samples_per_s" not in history.series and history.progress.samples_per_s is None
    assert len(history.series["tokens_per_s"]) == 10 and len(history.series["loss"]) == 10


def test_stdout_shows_what_a_terminal_shows_of_progress_bars(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path / "run", 1)
    with open(run / "stdout.log", "a") as handle:
        handle.write("\r 10%|#   | 1/10\r 20%|##  | 2/10\r\nwindows line\r\n")
    history = RunHistory(run)
    history.refresh()
    assert list(history.stdout)[-2:] == [" 20%|##  | 2/10", "windows line"]


def test_a_long_stdout_is_read_from_its_end(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path / "run", 1)
    (run / "stdout.log").write_text("".join(f"line {i}\n" for i in range(100_000)))
    history = RunHistory(run, stdout_lines=5)
    history.refresh()
    assert list(history.stdout) == [f"line {i}" for i in range(99_995, 100_000)]


def test_json_lines_tolerate_nan_blank_and_broken_lines(tmp_path: Path) -> None:
    block = b'{"loss": NaN}\n\n{"a": 1}, {"b": 2}\n[1]\n{"ok": 1}\n'
    objects = json_objects(block)
    assert len(objects) == 2 and math.isnan(objects[0]["loss"]) and objects[1] == {"ok": 1}
    assert json_objects(b'{"x": 1}\n{"y": 2}\n') == [{"x": 1}, {"y": 2}]
    assert json_objects(b'{"a": 1}, {"b": 2}\n') == []  # two values on one line are not a JSON line
    path = tmp_path / "f.jsonl"
    tail = FileTail(path)
    assert tail.check() is TailState.MISSING
    path.write_bytes(b'{"x": 1}\n{"x"')
    assert tail.check() is TailState.GROWN and [json_objects(b) for b in tail.chunks()] == [[{"x": 1}]]
    assert tail.check() is TailState.SAME and tail.offset == 9
    path.write_bytes(b'{"y": 1}\n{"x": 2}\n')  # rewritten in place, longer: the bytes before the offset differ
    assert tail.check() is TailState.RESTARTED and tail.offset == 0
    path.unlink()
    assert tail.check() is TailState.RESTARTED


def test_a_vanished_run_folder_is_a_file_not_found_error(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path / "run", 2)
    history = RunHistory(run)
    shutil.rmtree(run)
    with pytest.raises(FileNotFoundError):
        history.refresh()


def test_the_progress_event_carries_the_tokens_seen(tmp_path: Path) -> None:
    from lmf_engine.runs.events import EventWriter, read_events
    from lmf_engine.train.callbacks import RunCallback
    from lmf_engine.train.signals import StopRequest

    callback = RunCallback(tmp_path, EventWriter(tmp_path), StopRequest())
    state = SimpleNamespace(global_step=0, max_steps=4, epoch=0.0, num_input_tokens_seen=0, log_history=[])
    args = SimpleNamespace(device="cpu")
    callback.on_train_begin(args, state, SimpleNamespace())
    state.global_step = 1
    callback.on_step_end(args, state, SimpleNamespace())
    state.global_step, state.num_input_tokens_seen = 2, 4096
    callback.on_step_end(args, state, SimpleNamespace())
    events = [e for e in read_events(tmp_path)[0] if e["kind"] == "progress"]
    assert "tokens" not in events[1] and events[2]["tokens"] == 4096 and events[2]["throughput"] > 0


def test_a_refresh_with_a_time_budget_reads_on_where_it_stopped(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path / "run", 3000, eval_every=500)
    whole = RunHistory(run)
    whole.refresh()
    assert whole.complete
    partial = RunHistory(run)
    partial.refresh(budget_s=0.0)
    assert not partial.complete and 0 < len(partial.series["loss"]) < 3000
    rounds = 1
    while not partial.complete:
        partial.refresh(budget_s=0.0)
        rounds += 1
    assert rounds > 2
    assert list(partial.series["loss"].values) == list(whole.series["loss"].values)
    assert partial.system_summary == whole.system_summary and len(partial.system) == len(whole.system)
    assert partial.progress == whole.progress
    assert not partial.refresh(budget_s=0.0) and partial.complete


def test_data_preparation_events_are_shown_but_not_charted(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path / "run", 4)
    encode = {"t": 1.0, "kind": "log", "message": "encoding in background: 5 of 9 rows", "phase": "encode"}
    _append(run / "events.jsonl", {**encode, "rows_done": 5, "rows_total": 9})
    history = RunHistory(run)
    history.refresh()
    assert not {"rows_done", "rows_total"} & set(history.series)
    assert history.events[-1]["message"] == "encoding in background: 5 of 9 rows"
