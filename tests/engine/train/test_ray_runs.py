"""A run on a local Ray cluster (``USE_RAY=1``, 2 CPU workers, gloo): stopped, resumed, and trained exactly as the
2-process ``accelerate launch`` run of the same config."""

import os
from pathlib import Path

import pytest
from train_support import copy_workspace, events, losses, record, wait_for_step

from lmf_engine.config import load_config
from lmf_engine.runs.launch_plan import RAY_MODULE
from lmf_engine.runs.store import open_run, resume_run, stop_run

pytest.importorskip("ray")
pytestmark = pytest.mark.slow

STEPS = 60  # long enough that the stop (passed on by the driver, about a second) lands inside the loop
OVERRIDES = [
    "use_cpu=true", "val_size=0", "eval_strategy=no", "save_steps=100", f"max_steps={STEPS}", "ray_num_workers=2",
    "ray_init_kwargs={num_cpus: 2, object_store_memory: 100000000}",
]  # fmt: skip


def test_ray_run_stops_resumes_and_equals_the_accelerate_run(demo_workspace: Path, tmp_path: Path) -> None:
    from lmf_engine.runs.launcher import start_run

    workspace = copy_workspace(demo_workspace, tmp_path)
    config_file = workspace / "configs" / "sft_lora.yaml"
    environ = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_DEDUP_LOGS": "0"}
    ray_run = start_run(
        load_config(config_file, [*OVERRIDES, "output_dir=runs/ray"]), workspace=workspace,
        environ={**environ, "USE_RAY": "1"},
    )  # fmt: skip
    accelerate_run = start_run(
        load_config(config_file, [*OVERRIDES, "output_dir=runs/ddp", "num_processes=2"]), workspace=workspace
    )
    run_dir = ray_run.run_dir
    assert ray_run.plan.argv[1:3] == ["-m", RAY_MODULE] and ray_run.plan.num_processes == 2
    assert record(run_dir)["pgid"] is None  # the driver's group holds the local cluster: a stop signals it alone

    wait_for_step(run_dir, 2, timeout=300)
    stopped = stop_run(open_run(run_dir), wait=True, timeout=180)
    assert stopped.state == "stopped", (run_dir / "stdout.log").read_text()[-3000:]
    checkpoints = sorted(run_dir.glob("checkpoint-*"))
    assert len(checkpoints) == 1 and 2 <= int(checkpoints[0].name.split("-")[1]) <= STEPS

    resumed = resume_run(open_run(run_dir))
    assert resumed.plan.argv[1:3] == ["-m", RAY_MODULE]  # a Ray run resumes on Ray
    assert resumed.process.wait(timeout=600) == 0
    assert accelerate_run.process.wait(timeout=600) == 0
    output = (run_dir / "stdout.log").read_text()
    assert record(run_dir)["state"] == "finished", output[-3000:]
    assert "Ray: 2 workers of {'CPU': 1}" in output
    assert output.count("Ray: the workers ended with exit codes [0, 0]") == 2  # the stopped run and the resumed one
    assert [step for step, _ in losses(run_dir)] == list(range(1, STEPS + 1))
    assert losses(run_dir) == pytest.approx(losses(accelerate_run.run_dir), abs=1e-5)
    states = [event["state"] for event in events(run_dir) if event["kind"] == "state"]
    assert states == ["queued", "running", "stopped", "queued", "running", "finished"]
