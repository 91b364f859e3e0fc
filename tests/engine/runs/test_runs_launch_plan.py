"""How the child is started: directly for one process, through ``accelerate launch`` for anything distributed."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lmf_engine.config import load_config
from lmf_engine.runs.launch_plan import ACCELERATE_MODULE, RAY_MODULE, LaunchError, plan_launch, visible_gpu_count

RUN = Path("/ws/runs/demo")


def plan(values: dict[str, Any] | None = None, environ: dict[str, str] | None = None, gpus: int = 0, **kwargs: Any):
    return plan_launch(load_config(values=values or {}), RUN, environ=environ or {}, gpu_count=gpus, **kwargs)


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_one_process_starts_the_entry_point_directly() -> None:
    for launch in (plan(), plan(gpus=1), plan(resume=True)):
        assert launch.argv[:4] == [sys.executable, "-m", "lmf_engine.train", str(RUN)]
        assert not launch.uses_accelerate and launch.num_processes == 1
    assert plan(resume=True).argv[4:] == ["--resume"]


def test_several_gpus_go_through_accelerate() -> None:
    launch = plan(gpus=4, resume=True)
    argv = launch.argv
    assert argv[:3] == [sys.executable, "-m", ACCELERATE_MODULE] and "--multi_gpu" in argv
    assert option(argv, "--num_processes") == "4" and option(argv, "--num_machines") == "1"
    assert int(option(argv, "--main_process_port")) > 0
    assert argv[-4:] == ["-m", "lmf_engine.train", str(RUN), "--resume"]
    assert launch.uses_accelerate and launch.num_processes == 4


def test_use_cpu_ignores_gpus_and_several_cpu_processes_use_multi_gpu_not_cpu() -> None:
    assert not plan({"use_cpu": True}, gpus=4).uses_accelerate
    argv = plan({"use_cpu": True, "num_processes": 3}).argv
    assert "--multi_gpu" in argv and "--cpu" not in argv
    assert option(argv, "--num_processes") == "3"


def test_llamafactory_environment_variables() -> None:
    argv = plan(environ={"FORCE_TORCHRUN": "1", "NPROC_PER_NODE": "2", "MASTER_PORT": "29555"}).argv
    assert option(argv, "--num_processes") == "2" and option(argv, "--main_process_port") == "29555"
    assert option(plan(environ={"FORCE_TORCHRUN": "1"}, gpus=3).argv, "--num_processes") == "3"
    assert not plan(environ={"FORCE_TORCHRUN": "1"}, gpus=1).uses_accelerate
    nodes = {"NNODES": "2", "NODE_RANK": "1", "NPROC_PER_NODE": "8", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "6000"}
    launch = plan(environ=nodes)
    argv = launch.argv
    assert launch.num_processes == 16 and launch.num_machines == 2
    assert option(argv, "--num_processes") == "16" and option(argv, "--num_machines") == "2"
    assert option(argv, "--machine_rank") == "1" and option(argv, "--main_process_ip") == "10.0.0.1"
    assert option(argv, "--main_process_port") == "6000"
    assert option(plan({"num_processes": 2}, environ={"NPROC_PER_NODE": "8"}).argv, "--num_processes") == "2"


def test_bad_environment_is_a_launch_error() -> None:
    with pytest.raises(LaunchError, match="NPROC_PER_NODE='two'"):
        plan(environ={"NPROC_PER_NODE": "two"})
    with pytest.raises(LaunchError, match="MASTER_ADDR"):
        plan(environ={"NNODES": "2"})


def test_deepspeed_and_fsdp_always_use_accelerate() -> None:
    argv = plan({"deepspeed": "ds_z2.json"}, gpus=1).argv
    assert "--use_deepspeed" in argv and option(argv, "--num_processes") == "1"
    assert "--use_fsdp" in plan({"fsdp": "full_shard auto_wrap"}, gpus=1).argv
    argv = plan({"deepspeed": "ds_z3.json", "bf16": True}, gpus=2).argv
    assert "--multi_gpu" in argv and "--use_deepspeed" not in argv
    assert option(argv, "--mixed_precision") == "bf16"


def test_accelerate_config_file(tmp_path: Path) -> None:
    (tmp_path / "acc.yaml").write_text("distributed_type: MULTI_GPU\n")
    argv = plan({"accelerate_config": "acc.yaml"}, workspace=tmp_path).argv
    assert option(argv, "--config_file") == str(tmp_path / "acc.yaml") and "--num_processes" not in argv
    argv = plan({"accelerate_config": "acc.yaml", "num_processes": 4}, workspace=tmp_path).argv
    assert option(argv, "--num_processes") == "4"
    with pytest.raises(LaunchError, match=r"accelerate_config: 'missing\.yaml' is not a file"):
        plan({"accelerate_config": "missing.yaml"}, workspace=tmp_path)


def test_visible_gpu_count_reads_cuda_visible_devices() -> None:
    assert visible_gpu_count({"CUDA_VISIBLE_DEVICES": "0,3"}) == 2
    assert visible_gpu_count({"CUDA_VISIBLE_DEVICES": ""}) == 0
    assert visible_gpu_count({"CUDA_VISIBLE_DEVICES": "-1"}) == 0


PROBE = """
import sys
from pathlib import Path
from accelerate import PartialState

state = PartialState(cpu=True)
out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
(out / f"rank{state.process_index}").write_text(f"{state.num_processes} {state.backend}")
"""


@pytest.mark.slow
def test_two_cpu_processes_really_start_two(tmp_path: Path) -> None:
    """The planned command, run for real, starts two CPU ranks that meet over gloo (not one, as --cpu would)."""
    (tmp_path / "probe.py").write_text(PROBE)
    out = tmp_path / "out"
    launch = plan_launch(load_config(values={"use_cpu": True, "num_processes": 2}), out, entry_module="probe")
    result = subprocess.run(launch.argv, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == ["rank0", "rank1"]
    assert (out / "rank1").read_text() == "2 gloo"


def test_use_ray_starts_the_ray_driver_which_alone_gets_the_stop_signal() -> None:
    pytest.importorskip("ray")
    launch = plan({"ray_num_workers": 3, "num_processes": 2}, {"USE_RAY": "1"}, gpus=4, resume=True)
    assert launch.argv == [sys.executable, "-m", RAY_MODULE, str(RUN), "--resume"]
    assert launch.num_processes == 3 and not launch.uses_accelerate and not launch.signal_group
    assert plan(environ={"USE_RAY": "0"}).signal_group


def test_use_ray_without_ray_installed_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    with pytest.raises(LaunchError, match=r"^USE_RAY=1 needs the ray package: pip install 'lmf-workbench\[ray\]'$"):
        plan(environ={"USE_RAY": "true"})
