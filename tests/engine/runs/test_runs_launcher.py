"""Starting runs in their own session, refusing busy folders, lost runs, stop, resume and delete (fake trainer)."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from runs_support import wait_for

from lmf_engine.config import load_config
from lmf_engine.runs.events import read_events
from lmf_engine.runs.launcher import RunStartError, start_run
from lmf_engine.runs.liveness import check_lost, pid_alive
from lmf_engine.runs.record import read_run
from lmf_engine.runs.store import (
    RunNotFoundError,
    RunStateError,
    delete_run,
    find_run,
    list_runs,
    open_run,
    resume_run,
    stop_run,
)

Launch = Callable[..., Any]


def ended(run_dir: Path) -> Any:
    record = check_lost(run_dir)
    return record if record.final else None


def test_run_finishes_with_every_protocol_file(launch: Launch, workspace: Path) -> None:
    launched = launch({"max_steps": 3, "learning_rate": 0.01})
    run_dir = workspace / "runs" / "demo"
    assert launched.run_dir == run_dir and launched.record.name == "demo"
    assert launched.record.pgid == launched.record.pid == launched.process.pid
    assert launched.record.pgid != os.getpgrp() and os.getsid(launched.process.pid) != os.getsid(0)
    assert launched.process.wait(timeout=30) == 0
    record = read_run(run_dir)
    assert record.state == "finished" and record.exit_code == 0 and record.cwd == str(workspace)
    assert record.started_at <= record.ended_at
    config = load_config(run_dir / "config.yaml")
    assert config.training.output_dir == str(run_dir) and config.training.learning_rate == 0.01
    events, _ = read_events(run_dir)
    states = [e["state"] for e in events if e["kind"] == "state"]
    assert states == ["queued", "running", "finished"]
    assert [e["current_steps"] for e in events if e["kind"] == "progress"] == [1, 2, 3]
    log = (run_dir / "stdout.log").read_text()
    assert "fake_trainer" in log and "fake trainer: finished at step 3" in log
    assert open_run(run_dir).progress["current_steps"] == 3


def test_run_without_output_dir_goes_under_runs(workspace: Path) -> None:
    config = load_config(values={"stage": "sft", "finetuning_type": "lora"})
    launched = start_run(config, workspace=workspace, entry_module="fake_trainer")
    launched.process.wait(timeout=30)
    assert launched.run_dir.parent == workspace / "runs" and launched.run_dir.name.startswith("sft_lora_")
    named = start_run(
        config, workspace=workspace, runs_root=workspace / "elsewhere", name="x", entry_module="fake_trainer"
    )
    named.process.wait(timeout=30)
    assert named.run_dir == workspace / "elsewhere" / "x"


def test_refuses_a_running_or_finished_run(launch: Launch, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_TRAINER_MODE", "wait")
    launched = launch()
    wait_for(lambda: read_run(launched.run_dir).state == "running")
    with pytest.raises(RunStartError, match=r"run 'demo' .* is running .*lmf-engine runs stop demo"):
        launch({"overwrite_output_dir": True})
    stop_run(open_run(launched.run_dir), wait=True, timeout=20)
    assert read_run(launched.run_dir).state == "stopped"
    monkeypatch.setenv("FAKE_TRAINER_MODE", "finish")
    launch().process.wait(timeout=30)  # a stopped run may be started afresh
    assert read_run(launched.run_dir).state == "finished"
    with pytest.raises(RunStartError, match="holds the finished run 'demo'; set overwrite_output_dir: true"):
        launch()
    again = launch({"overwrite_output_dir": True})
    again.process.wait(timeout=30)
    events, _ = read_events(again.run_dir)
    assert [e["state"] for e in events if e["kind"] == "state"] == ["queued", "running", "finished"]


def test_refuses_a_non_empty_folder_that_is_not_a_run(launch: Launch, workspace: Path) -> None:
    (workspace / "runs" / "demo").mkdir(parents=True)
    (workspace / "runs" / "demo" / "notes.txt").write_text("mine")
    with pytest.raises(RunStartError, match="is not empty; set overwrite_output_dir: true"):
        launch()
    launch({"overwrite_output_dir": True}).process.wait(timeout=30)
    assert (workspace / "runs" / "demo" / "notes.txt").read_text() == "mine"


def test_child_that_dies_silently_is_reported_lost(
    launch: Launch, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_TRAINER_MODE", "crash")
    launched = launch()
    launched.process.wait(timeout=30)
    assert read_run(launched.run_dir).state == "queued"
    info = open_run(launched.run_dir)
    assert info.state == "failed" and info.lost
    assert "lost" in info.record.error and "fake trainer: boom" in info.record.error
    persisted = json.loads((launched.run_dir / "run.json").read_text())
    assert persisted["state"] == "failed" and persisted["lost"] is True


def test_zombie_child_counts_as_gone(launch: Launch, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_TRAINER_MODE", "crash")
    launched = launch()
    wait_for(lambda: not pid_alive(launched.process.pid))  # exited, not reaped yet
    assert launched.process.poll() is not None
    assert open_run(launched.run_dir).state == "failed"


def test_run_survives_the_parent_exiting(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_TRAINER_STEPS", "8")
    monkeypatch.setenv("FAKE_TRAINER_DELAY", "0.15")
    script = textwrap.dedent(
        """
        import os
        from lmf_engine.config import load_config
        from lmf_engine.runs.launcher import start_run

        launched = start_run(load_config(values={"output_dir": "runs/orphan"}), entry_module="fake_trainer")
        print(launched.record.pid, flush=True)
        os._exit(0)
        """
    )
    parent = subprocess.run([sys.executable, "-c", script], cwd=workspace, capture_output=True, text=True, timeout=60)
    assert parent.returncode == 0, parent.stderr
    pid = int(parent.stdout.split()[0])
    run_dir = workspace / "runs" / "orphan"
    assert pid_alive(pid) and read_run(run_dir).state in ("queued", "running")
    record = wait_for(lambda: ended(run_dir), timeout=30)
    assert record.state == "finished"
    assert [e["current_steps"] for e in read_events(run_dir)[0] if e["kind"] == "progress"] == list(range(1, 9))


def test_stop_resume_and_delete(launch: Launch, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_TRAINER_MODE", "wait")
    launched = launch()
    wait_for(lambda: open_run(launched.run_dir).progress)
    info = open_run(launched.run_dir)
    with pytest.raises(RunStateError, match="stop it before deleting"):
        delete_run(info)
    with pytest.raises(RunStateError, match="cannot be resumed while it runs"):
        resume_run(info)
    assert stop_run(info).state == "stopping"
    assert wait_for(lambda: ended(launched.run_dir)).state == "stopped"
    checkpoint = next(launched.run_dir.glob("checkpoint-*"))
    with pytest.raises(RunStateError, match="not running"):
        stop_run(open_run(launched.run_dir))
    monkeypatch.setenv("FAKE_TRAINER_MODE", "finish")
    resumed = resume_run(open_run(launched.run_dir), entry_module="fake_trainer")
    assert resumed.record.id == launched.record.id and resumed.record.resumed_from == str(checkpoint)
    assert resumed.record.command[-1] == "--resume"
    resumed.process.wait(timeout=30)
    assert read_run(launched.run_dir).state == "finished"
    assert "resume True" in (launched.run_dir / "stdout.log").read_text()
    delete_run(open_run(launched.run_dir))
    assert not launched.run_dir.exists()


def test_resume_from_a_chosen_checkpoint(launch: Launch, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    launched = launch()
    launched.process.wait(timeout=30)
    older = launched.run_dir / "checkpoint-1"
    older.mkdir()
    with pytest.raises(RunStateError, match="not a checkpoint folder of run"):
        resume_run(open_run(launched.run_dir), checkpoint=workspace, entry_module="fake_trainer")
    resumed = resume_run(open_run(launched.run_dir), checkpoint=older, entry_module="fake_trainer")
    resumed.process.wait(timeout=30)
    assert resumed.record.resumed_from == str(older)
    assert resumed.record.command[-2:] == ["--resume", str(older)]
    assert read_run(launched.run_dir).state == "finished"


def test_force_stop_kills_a_run_that_ignores_sigterm(launch: Launch, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_TRAINER_MODE", "ignore_term")
    launched = launch()
    wait_for(lambda: read_run(launched.run_dir).state == "running")
    record = stop_run(open_run(launched.run_dir), force=True, timeout=0.5)
    assert record.state == "stopped" and "SIGKILL" in record.error
    assert launched.process.wait(timeout=10) == -signal.SIGKILL


def test_plain_llamafactory_output_dir(tmp_path: Path) -> None:
    done = tmp_path / "lf_done"
    done.mkdir()
    lines = [{"current_steps": s, "total_steps": 4, "loss": 1.0 / s} for s in (2, 4)]
    (done / "trainer_log.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    partial = tmp_path / "lf_partial"
    partial.mkdir()
    (partial / "trainer_log.jsonl").write_text(json.dumps(lines[0]) + "\n" + '{"current_st')
    (tmp_path / "not_a_run").mkdir()
    runs = {info.name: info for info in list_runs(tmp_path)}
    assert set(runs) == {"lf_done", "lf_partial"}
    assert runs["lf_done"].kind == "llamafactory" and runs["lf_done"].state == "finished"
    assert runs["lf_partial"].state == "unknown" and runs["lf_partial"].progress["current_steps"] == 2
    (partial / "trainer_state.json").write_text("{}")
    assert open_run(partial).state == "finished"
    with pytest.raises(RunStateError, match="LLaMA-Factory output folder"):
        stop_run(runs["lf_done"])


def test_find_run_by_name_or_path(launch: Launch, workspace: Path) -> None:
    launch().process.wait(timeout=30)
    assert find_run("demo").path == workspace / "runs" / "demo"
    assert find_run(str(workspace / "runs" / "demo"), root=workspace / "nowhere").name == "demo"
    with pytest.raises(RunNotFoundError, match=r"no run 'demx' under .*runs there: demo"):
        find_run("demx")
    assert list_runs(workspace / "missing") == []


def test_run_of_another_host_is_neither_lost_nor_signalled(tmp_path: Path) -> None:
    from lmf_engine.runs.record import RunRecord, write_run

    write_run(
        tmp_path, RunRecord(name=tmp_path.name, state="running", pid=2**22 + 7, pgid=2**22 + 7, host="gpu-node-9")
    )
    info = open_run(tmp_path)
    assert info.state == "running" and not info.lost
    with pytest.raises(RunStateError, match="runs on host gpu-node-9; stop it there"):
        stop_run(info)


def test_preview_launch_reports_the_folder_without_touching_it(launch: Launch, workspace: Path) -> None:
    from lmf_engine.config import load_config
    from lmf_engine.runs.launcher import preview_launch

    config = load_config(values={"output_dir": "runs/demo"})
    fresh = preview_launch(config, workspace=workspace, gpu_count=0)
    assert fresh.run_dir == workspace / "runs" / "demo" and fresh.existing is None and not fresh.occupied
    assert fresh.command_text.endswith(f"-m lmf_engine.train {workspace / 'runs' / 'demo'}")
    assert not fresh.run_dir.exists()
    launched = launch()
    launched.process.wait(timeout=30)
    taken = preview_launch(config, workspace=workspace, gpu_count=0)
    assert taken.existing is not None and taken.existing.state == "finished" and taken.occupied


START_ONE = """
import sys
from lmf_engine.config import load_config
from lmf_engine.runs.launcher import RunStartError, start_run

config = load_config(values={"output_dir": "runs/race", "overwrite_output_dir": True})
try:
    launched = start_run(config, workspace=".", entry_module="fake_trainer")
except RunStartError as err:
    print("refused:", err)
    sys.exit(2)
print("started")
"""


def test_of_eight_starts_at_once_on_one_folder_exactly_one_runs(workspace: Path) -> None:
    import subprocess
    import sys

    environ = {**os.environ, "FAKE_TRAINER_MODE": "wait"}  # the winner runs until stopped: the others meet it
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", START_ONE], cwd=workspace, stdout=subprocess.PIPE, text=True, env=environ
        )
        for _ in range(8)
    ]
    outputs = [(p.communicate(timeout=60)[0], p.returncode) for p in starts]
    assert sorted(code for _, code in outputs) == [0] + [2] * 7, outputs
    refusals = [out for out, code in outputs if code == 2]
    assert all("refused: run 'race'" in out and "stop it first" in out for out in refusals)
    run_dir = workspace / "runs" / "race"
    wait_for(lambda: read_run(run_dir).state == "running")
    stop_run(open_run(run_dir), wait=True, timeout=20)
    assert read_run(run_dir).state == "stopped"
    states = [e["state"] for e in read_events(run_dir)[0] if e["kind"] == "state"]
    assert states == ["queued", "running", "stopped"]


def test_an_output_dir_that_cannot_be_created_is_a_clear_error(workspace: Path) -> None:
    from lmf_engine.config import load_config
    from lmf_engine.runs.launcher import RunStartError, start_run

    (workspace / "a_file").write_text("x")
    for where, reason in (("/proc/self/x", "cannot create the run folder"), ("a_file/run", "cannot create")):
        config = load_config(values={"output_dir": where})
        with pytest.raises(RunStartError, match=reason) as caught:
            start_run(config, workspace=workspace, entry_module="fake_trainer")
        assert "output_dir" in str(caught.value)


def test_a_workspace_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    from lmf_engine.config import load_config
    from lmf_engine.runs.launcher import RunStartError, start_run

    missing = tmp_path / "nonexistent"
    with pytest.raises(RunStartError, match=r"workspace .*nonexistent: no such folder"):
        start_run(load_config(values={"output_dir": "runs/x"}), workspace=missing, entry_module="fake_trainer")
    assert not missing.exists()
