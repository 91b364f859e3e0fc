"""RunsOverview: the rows of the runs table, read cheaply again and again."""

import json
import shutil
import time
from pathlib import Path

import pytest
from fixtures.fake_runs import append_steps, write_fake_lf_run, write_fake_run

from lmf_engine.monitor.records import read_samples
from lmf_engine.monitor.summary import summarize
from lmf_engine.runs import overview as overview_module
from lmf_engine.runs import run_config
from lmf_engine.runs.overview import RunRow, RunsOverview, dataset_list, short_model


@pytest.fixture
def runs_root(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    write_fake_run(root / "done", 50, eval_every=10, learning_rate=2e-4)
    write_fake_run(root / "live", 20, state="running", total_steps=100, seed=3, stage="dpo")
    write_fake_run(root / "gone", 20, state="lost", seed=4, finetuning_type="full")
    write_fake_run(root / "oom", 20, state="failed", seed=5)
    write_fake_lf_run(root / "lf", 40, eval_every=20)
    (root / "broken").mkdir()
    (root / "broken" / "run.json").write_text("{not json")
    (root / "notes").mkdir()
    return root


def _by_name(rows: list[RunRow]) -> dict[str, RunRow]:
    return {row.name: row for row in rows}


def test_one_row_per_run_with_what_the_table_shows(runs_root: Path) -> None:
    rows = _by_name(RunsOverview(runs_root).refresh())
    assert set(rows) == {"done", "live", "gone", "oom", "lf", "broken"}
    done = rows["done"]
    assert (done.kind, done.state, done.stage, done.finetuning_type) == ("run", "finished", "sft", "lora")
    assert (done.model, done.datasets) == ("Qwen/Qwen2.5-0.5B-Instruct", "alpaca_en_demo, identity")
    log = [json.loads(line) for line in (runs_root / "done" / "trainer_log.jsonl").read_text().splitlines()]
    losses = [line["loss"] for line in log if "loss" in line]
    assert (done.step, done.total_steps, done.last_loss, done.best_loss) == (50, 50, losses[-1], min(losses))
    assert done.eval_loss == [line["eval_loss"] for line in log if "eval_loss" in line][-1]
    samples = read_samples(runs_root / "done" / "system.jsonl")[0]
    assert done.peak_gpu_mem_mb == summarize(samples).peak_gpu_mem_mb
    record = json.loads((runs_root / "done" / "run.json").read_text())
    assert done.duration_s == pytest.approx(record["ended_at"] - record["started_at"])
    assert done.started_at == record["started_at"] and not done.active and done.error is None
    live = rows["live"]
    assert (live.state, live.active, live.stage, live.step, live.total_steps) == ("running", True, "dpo", 20, 100)
    assert live.duration_s == pytest.approx(time.time() - live.started_at, abs=5)
    assert rows["gone"].state == "lost" and rows["gone"].finetuning_type == "full" and "lost" in rows["gone"].error
    assert rows["oom"].state == "failed" and "out of memory" in rows["oom"].error
    broken = rows["broken"]
    assert (broken.state, broken.kind) == ("unreadable", "run") and "run.json" in broken.error


def test_a_llamafactory_folder_row(runs_root: Path) -> None:
    lf = _by_name(RunsOverview(runs_root).refresh())["lf"]
    assert (lf.kind, lf.state, lf.model, lf.stage) == (
        "llamafactory",
        "finished",
        "meta-llama/Llama-3.2-1B-Instruct",
        "sft",
    )
    assert (lf.step, lf.total_steps, lf.peak_gpu_mem_mb, lf.active) == (40, 40, None, False)
    assert lf.eval_loss is not None and lf.duration_s and lf.started_at


def test_a_llamafactory_folder_without_trainer_log_or_args(tmp_path: Path) -> None:
    out = write_fake_lf_run(tmp_path / "runs" / "old", 30, eval_every=10, logging_steps=10, with_args=False)
    (out / "trainer_log.jsonl").unlink()
    (out / "adapter_config.json").write_text(
        json.dumps({"base_model_name_or_path": "/m/org/base", "peft_type": "LORA"})
    )
    row = RunsOverview(tmp_path / "runs").refresh()[0]
    state = json.loads((out / "trainer_state.json").read_text())
    losses = [entry["loss"] for entry in state["log_history"] if "loss" in entry]
    assert (row.state, row.model, row.finetuning_type, row.stage) == ("finished", "org/base", "lora", None)
    assert (row.step, row.total_steps, row.last_loss, row.best_loss) == (30, 30, losses[-1], min(losses))
    results = json.loads((out / "all_results.json").read_text())
    assert row.duration_s == results["train_runtime"]


def test_a_broken_config_keeps_the_row_with_the_error(runs_root: Path) -> None:
    (runs_root / "live" / "config.yaml").write_text("stage: [sft\n")
    live = _by_name(RunsOverview(runs_root).refresh())["live"]
    assert (live.state, live.step, live.stage) == ("running", 20, None) and "not valid YAML" in live.error


def test_rows_are_newest_first(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    for name, started in (("old", 100.0), ("new", 300.0), ("mid", 200.0)):
        run = write_fake_run(root / name, 2)
        record = json.loads((run / "run.json").read_text())
        (run / "run.json").write_text(json.dumps({**record, "started_at": started, "ended_at": started + 1}))
    assert [row.name for row in RunsOverview(root).refresh()] == ["new", "mid", "old"]


def test_a_refresh_reads_only_what_changed(runs_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    overview = RunsOverview(runs_root)
    overview.refresh()
    overview.refresh()  # the lost run's run.json was rewritten (failed, lost) by the first: read once more
    opened, loaded = [], []
    real_open, real_load = overview_module.open_run, run_config.load_yaml_mapping
    monkeypatch.setattr(overview_module, "open_run", lambda path: opened.append(path) or real_open(path))
    monkeypatch.setattr(run_config, "load_yaml_mapping", lambda path: loaded.append(path) or real_load(path))
    before = _by_name(overview.refresh())
    assert opened == [] and loaded == []  # the live run's liveness is checked every few seconds, not every time
    append_steps(runs_root / "live", 21, 5)
    after = _by_name(overview.refresh())
    assert after["live"].step == 25 and after["done"] == before["done"]
    assert loaded == [] and opened == []  # run.json did not change
    config = runs_root / "done" / "config.yaml"
    config.write_text(config.read_text().replace("learning_rate: 0.0002", "learning_rate: 0.0003") + "\n")
    overview.refresh()
    assert loaded == [config]


def test_a_new_run_appears_a_deleted_one_goes_and_added_folders_stay(runs_root: Path, tmp_path: Path) -> None:
    overview = RunsOverview(runs_root, extra=[tmp_path / "elsewhere"])
    rows = _by_name(overview.refresh())
    assert rows["elsewhere"].state == "unreadable" and "not a run folder" in rows["elsewhere"].error
    write_fake_lf_run(tmp_path / "elsewhere", 10)
    write_fake_run(runs_root / "fresh", 3)
    shutil.rmtree(runs_root / "oom")
    rows = _by_name(overview.refresh())
    assert rows["elsewhere"].kind == "llamafactory" and rows["elsewhere"].step == 10
    assert "fresh" in rows and "oom" not in rows
    overview.add(tmp_path / "elsewhere")
    assert len(overview.extra) == 1


def test_a_missing_root_gives_no_rows(tmp_path: Path) -> None:
    assert RunsOverview(tmp_path / "nowhere").refresh() == []


def test_model_and_dataset_text() -> None:
    assert short_model("/data/models/Qwen/Qwen2.5-7B/") == "Qwen/Qwen2.5-7B"
    assert short_model("gpt2") == "gpt2" and short_model(None) is None and short_model(" ") is None
    assert dataset_list("a,b , c") == "a, b, c" and dataset_list(["x", "y"]) == "x, y" and dataset_list(3) is None
