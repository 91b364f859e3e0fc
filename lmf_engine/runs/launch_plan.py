"""How a run's child process is started: directly, or through ``accelerate launch`` when it is distributed.

A single process on one device runs ``python -m lmf_engine.train RUN_DIR``. Several processes, several machines, an
accelerate config file, DeepSpeed or FSDP go through ``accelerate launch``. LLaMA-Factory's launcher variables are
honoured too: ``FORCE_TORCHRUN``, ``NPROC_PER_NODE``, ``NNODES``, ``NODE_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``.
With ``USE_RAY=1`` (LLaMA-Factory's switch) the child is the Ray driver (``lmf_engine.train.ray_launch``), which runs
``ray_num_workers`` training workers on a Ray cluster.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lmf_engine.config import Config
from lmf_engine.config.optimizer_extras import missing_optimizer_package
from lmf_engine.util.net import free_port
from lmf_engine.util.packages import installed

ENTRY_MODULE = "lmf_engine.train"
ACCELERATE_MODULE = "accelerate.commands.launch"
RAY_MODULE = "lmf_engine.train.ray_launch"
RAY_MISSING = "USE_RAY=1 needs the ray package: pip install 'lmf-workbench[ray]'"


class LaunchError(ValueError):
    """The launch settings (config keys or environment variables) cannot be honoured."""


@dataclass(frozen=True)
class LaunchPlan:
    """The child's argv and how many processes it runs on how many machines."""

    argv: list[str]
    num_processes: int = 1
    num_machines: int = 1
    uses_accelerate: bool = False
    signal_group: bool = True
    """Whether a stop signals the child's whole process group; a Ray driver's group holds the local cluster it
    started, so it alone is signalled (and passes the stop on to its workers)."""


def env_enabled(environ: Mapping[str, str], name: str) -> bool:
    """LLaMA-Factory's reading of a boolean environment variable."""
    return environ.get(name, "0").strip().lower() in ("1", "true", "y", "yes")


def _env_int(environ: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise LaunchError(f"environment variable {name}={raw!r}: expected a whole number") from None
    if value < minimum:
        raise LaunchError(f"environment variable {name}={raw!r}: expected at least {minimum}")
    return value


def visible_gpu_count(environ: Mapping[str, str] | None = None) -> int:
    """GPUs this process may use, without importing torch: ``CUDA_VISIBLE_DEVICES`` when set, else NVML."""
    environ = os.environ if environ is None else environ
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = [part for part in visible.split(",") if part.strip()]
        return 0 if not ids or ids[0].strip() == "-1" else len(ids)
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            return int(pynvml.nvmlDeviceGetCount())
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # no driver, no library, no device: no GPU to count
        return 0


def _mixed_precision(config: Config) -> str:
    if config.training.bf16:
        return "bf16"
    if config.training.fp16:
        return "fp16"
    return "no"


def plan_launch(
    config: Config,
    run_dir: Path,
    *,
    resume: bool = False,
    checkpoint: Path | None = None,
    workspace: Path | None = None,
    entry_module: str = ENTRY_MODULE,
    python: str = sys.executable,
    environ: Mapping[str, str] | None = None,
    gpu_count: int | None = None,
) -> LaunchPlan:
    """Decide how to start the child for ``run_dir``. ``gpu_count`` defaults to :func:`visible_gpu_count`; a resumed
    run continues from ``checkpoint`` when given, else from the newest checkpoint."""
    environ = os.environ if environ is None else environ
    training = config.training
    missing = missing_optimizer_package(config)
    if missing is not None:
        raise LaunchError(missing)
    entry = ["-m", entry_module, str(run_dir)]
    if resume:
        entry += ["--resume", str(checkpoint)] if checkpoint is not None else ["--resume"]
    if env_enabled(environ, "USE_RAY"):
        if not installed("ray"):
            raise LaunchError(RAY_MISSING)
        return LaunchPlan([python, "-m", RAY_MODULE, *entry[2:]], training.ray_num_workers, signal_group=False)
    force = env_enabled(environ, "FORCE_TORCHRUN")
    machines = _env_int(environ, "NNODES", 1, 1)
    if training.num_processes is not None:
        per_machine = training.num_processes
    elif environ.get("NPROC_PER_NODE", "").strip():
        per_machine = _env_int(environ, "NPROC_PER_NODE", 1, 1)
    else:
        gpus = 0 if training.use_cpu else (visible_gpu_count(environ) if gpu_count is None else gpu_count)
        per_machine = max(gpus, 1) if (force or gpus > 1) else 1
    total = per_machine * machines
    if training.accelerate_config:
        path = Path(training.accelerate_config)
        path = path if path.is_absolute() or workspace is None else workspace / path
        if not path.is_file():
            raise LaunchError(f"accelerate_config: {training.accelerate_config!r} is not a file")
        argv = [python, "-m", ACCELERATE_MODULE, "--config_file", str(path)]
        if training.num_processes is not None or machines > 1:
            argv += ["--num_processes", str(total)]
        return LaunchPlan(argv + entry, total, machines, uses_accelerate=True)
    needs_group = bool(training.deepspeed) or bool(training.fsdp)
    if total == 1 and not needs_group:
        return LaunchPlan([python, *entry], 1, 1)
    if total > 1:
        mode = ["--multi_gpu"]  # with use_cpu the trainer picks gloo; `--cpu --num_processes N` would start one
    elif training.deepspeed:
        mode = ["--use_deepspeed"]  # a one-process DeepSpeed run still needs the distributed environment
    else:
        mode = ["--use_fsdp"]
    argv = [python, "-m", ACCELERATE_MODULE, *mode, "--num_processes", str(total), "--num_machines", str(machines)]
    argv += ["--mixed_precision", _mixed_precision(config), "--dynamo_backend", "no"]
    if machines > 1:
        if not environ.get("MASTER_ADDR"):
            raise LaunchError("NNODES > 1 needs MASTER_ADDR (the address of the machine with NODE_RANK=0)")
        argv += ["--machine_rank", str(_env_int(environ, "NODE_RANK", 0, 0))]
        argv += ["--main_process_ip", environ["MASTER_ADDR"]]
        argv += ["--main_process_port", str(_env_int(environ, "MASTER_PORT", 29500, 1))]
    else:
        argv += ["--main_process_port", str(_env_int(environ, "MASTER_PORT", 0, 1) or free_port())]
    return LaunchPlan(argv + entry, total, machines, uses_accelerate=True)
