"""The Ray driver of a run started with ``USE_RAY=1``: ``python -m lmf_engine.train.ray_launch RUN_DIR [--resume]``.

As LLaMA-Factory 0.9.5 does, it connects to a Ray cluster (``ray_init_kwargs``, e.g. ``address``; without one
``ray.init`` starts a local cluster), reserves one bundle per worker (``resources_per_worker``, default one GPU, or
one CPU where the cluster has no GPU or the config sets ``use_cpu``) in a placement group
(``placement_strategy``), and starts ``ray_num_workers`` actors. Each actor is one rank of a torch distributed run
(``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``/``MASTER_PORT`` of rank 0's node, or the loopback address when every
worker runs on the driver's node, default a free port there) and runs the
ordinary training child in its own process, so rank 0 writes the run folder as in any run (the folder must be on
storage every node sees).

The launcher records this driver's pid alone (its process group holds the local cluster): a stop (SIGTERM or
SIGINT) reaches the driver, which sends SIGTERM to every worker's process on its node; the workers finish the step,
rank 0 saves a checkpoint and marks the run ``stopped``, and ``runs resume`` starts the driver again with
``--resume``. A worker that dies, or a cluster that cannot hold the workers, fails the run with the reason.
"""

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from lmf_engine.config import ConfigError, load_config
from lmf_engine.runs.events import EventWriter
from lmf_engine.runs.record import CONFIG_FILE, read_run, update_run

from .entry import LAUNCHER_VARIABLE

if TYPE_CHECKING:
    from lmf_engine.config import Config

PLACEMENT_TIMEOUT_S = 60.0
FAILED_RANK_GRACE_S = 30.0
"""How long the other ranks may run on after one failed (they usually fail too, at their next collective)."""


class RayLaunchError(RuntimeError):
    """The Ray cluster cannot run the workers as configured."""


class RankWorker:
    """One rank: set its distributed environment, then run the training child in this (the actor's) process."""

    def where(self) -> tuple[str, str, int]:
        """(node id, node address, pid) of this actor."""
        import ray

        return ray.get_runtime_context().get_node_id(), ray.util.get_node_ip_address(), os.getpid()

    def free_port(self) -> int:
        from lmf_engine.util.net import free_port

        return free_port()

    def train(self, environment: dict[str, str], argv: list[str]) -> int:
        os.environ.update(environment)
        from lmf_engine.train.entry import main

        return main(argv)


def _signal_process(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _mapping(key: str, value: dict[str, Any] | str | None) -> dict[str, Any]:
    if value is None or isinstance(value, dict):
        return dict(value or {})
    try:
        parsed = json.loads(value)
    except ValueError:
        raise RayLaunchError(f"{key}: {value!r} is not a JSON mapping") from None
    if not isinstance(parsed, dict):
        raise RayLaunchError(f"{key}: {value!r} is not a JSON mapping")
    return parsed


def init_kwargs(config: "Config") -> dict[str, Any]:
    """``ray.init`` arguments: ``ray_init_kwargs``, and no dashboard for a local cluster unless they ask for one."""
    kwargs = _mapping("ray_init_kwargs", config.training.ray_init_kwargs)
    if not kwargs.get("address") and not os.environ.get("RAY_ADDRESS"):
        kwargs.setdefault("include_dashboard", False)
    return kwargs


def worker_bundle(config: "Config", cluster: dict[str, float]) -> dict[str, float]:
    """The resources of one worker: ``resources_per_worker``, else one GPU where the cluster has them, else one
    CPU; raises when the cluster cannot hold ``ray_num_workers`` of them."""
    bundle = _mapping("resources_per_worker", config.training.resources_per_worker)
    if not bundle:
        bundle = {"GPU": 1} if cluster.get("GPU", 0) >= 1 and not config.training.use_cpu else {"CPU": 1}
    workers = config.training.ray_num_workers
    for name, amount in bundle.items():
        if not isinstance(amount, int | float) or amount < 0:
            raise RayLaunchError(f"resources_per_worker: {name}: {amount!r} is not a non-negative number")
        if amount * workers > cluster.get(name, 0):
            raise RayLaunchError(
                f"ray_num_workers: {workers} workers need {amount * workers:g} {name} in all, and the Ray cluster has "
                f"{cluster.get(name, 0):g}"
            )
    return bundle


def worker_environment(rank: int, world: int, master: tuple[str, int], run_dir: Path) -> dict[str, str]:
    """The distributed environment of rank ``rank`` (each worker sees its own GPUs, so its local rank is 0)."""
    return {
        "RANK": str(rank),
        "LOCAL_RANK": "0",
        "WORLD_SIZE": str(world),
        "LOCAL_WORLD_SIZE": "1",
        "MASTER_ADDR": master[0],
        "MASTER_PORT": str(master[1]),
        "LMF_RUN_DIR": str(run_dir),
        "PYTHONUNBUFFERED": "1",
        LAUNCHER_VARIABLE: "ray",
    }


class _Stop:
    """SIGTERM/SIGINT set a flag; the driver's loop passes it on."""

    def __init__(self) -> None:
        self.requested = False
        self.install()

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True


def _drive(config: "Config", run_dir: Path, child_argv: list[str], stop: _Stop) -> int:
    import ray
    from ray.util.placement_group import placement_group, remove_placement_group
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy, PlacementGroupSchedulingStrategy

    ray.init(**init_kwargs(config))
    stop.install()  # again: ray.init sets its own SIGTERM handler (exit at once)
    if stop.requested:
        ray.shutdown()
        return 0
    world = config.training.ray_num_workers
    bundle = worker_bundle(config, ray.cluster_resources())
    group = placement_group([bundle] * world, strategy=config.training.placement_strategy)
    if not group.wait(timeout_seconds=PLACEMENT_TIMEOUT_S):
        raise RayLaunchError(
            f"ray_num_workers: the Ray cluster could not place {world} workers of {bundle} "
            f"(placement_strategy {config.training.placement_strategy}) within {PLACEMENT_TIMEOUT_S:g} s"
        )
    actor = ray.remote(RankWorker)
    signaller = ray.remote(num_cpus=0)(_signal_process)
    custom = {name: amount for name, amount in bundle.items() if name not in ("CPU", "GPU")}
    workers = [
        actor.options(
            num_cpus=bundle.get("CPU", 0),
            num_gpus=bundle.get("GPU", 0),
            resources=custom,
            scheduling_strategy=PlacementGroupSchedulingStrategy(group, placement_group_bundle_index=rank),
        ).remote()
        for rank in range(world)
    ]
    places = ray.get([worker.where.remote() for worker in workers])
    on_this_node = all(node == ray.get_runtime_context().get_node_id() for node, _, _ in places)
    master_addr = config.training.master_addr or ("127.0.0.1" if on_this_node else places[0][1])
    master_port = config.training.master_port or ray.get(workers[0].free_port.remote())
    print(f"Ray: {world} workers of {bundle}, rank 0 at {master_addr}:{master_port}", flush=True)
    pending = {
        worker.train.remote(worker_environment(rank, world, (master_addr, master_port), run_dir), child_argv): rank
        for rank, worker in enumerate(workers)
    }
    codes: dict[int, int] = {}
    passed_on = False
    failed_at: float | None = None
    while pending:
        if stop.requested and not passed_on:
            passed_on = True
            ray.get([
                signaller.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(
                    pid, signal.SIGTERM
                )
                for node, _, pid in places
            ])  # fmt: skip
        if failed_at is not None and time.monotonic() - failed_at > FAILED_RANK_GRACE_S:
            for worker in workers:
                ray.kill(worker)
        done, _ = ray.wait(list(pending), timeout=0.5)
        for ref in done:
            rank = pending.pop(ref)
            try:
                codes[rank] = ray.get(ref)
            except ray.exceptions.RayError as exc:
                codes[rank] = 1
                print(f"Ray: worker {rank} ended with {type(exc).__name__}: {exc}", flush=True)
            if codes[rank] != 0 and failed_at is None:
                failed_at = time.monotonic()
    print(f"Ray: the workers ended with exit codes {[codes[rank] for rank in sorted(codes)]}", flush=True)
    remove_placement_group(group)
    ray.shutdown()
    return 0 if all(code == 0 for code in codes.values()) else 1


def _fail(run_dir: Path, message: str) -> None:
    """Record a failure rank 0 could not record (the workers never ran, or died)."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    with EventWriter(run_dir) as events:
        events.emit("error", message=message)
        events.emit("state", state="failed")
    update_run(run_dir, state="failed", exit_code=1, error=message)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lmf_engine.train.ray_launch", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="run folder holding config.yaml (and run.json)")
    parser.add_argument("--resume", nargs="?", const="", default=None, metavar="CHECKPOINT")
    args = parser.parse_args(argv)
    run_dir = Path(args.run_dir).resolve()
    child_argv = [str(run_dir)]
    if args.resume is not None:
        child_argv += ["--resume", args.resume] if args.resume else ["--resume"]
    stop = _Stop()
    cwd = read_run(run_dir).cwd
    if cwd:
        os.chdir(cwd)
    try:
        config = load_config(run_dir / CONFIG_FILE)
        code = _drive(config, run_dir, child_argv, stop)
    except (ConfigError, RayLaunchError) as exc:
        _fail(run_dir, str(exc))
        return 1
    except ImportError as exc:
        _fail(run_dir, f"USE_RAY=1 needs the ray package: pip install 'lmf-workbench[ray]' ({exc})")
        return 1
    state = read_run(run_dir).state
    if code != 0 and state not in ("failed", "stopped"):
        _fail(run_dir, "a Ray worker ended without finishing its part of the run (see stdout.log)")
    elif stop.requested and state in ("queued", "stopping"):  # stopped before the workers started
        with EventWriter(run_dir) as events:
            events.emit("state", state="stopped")
        update_run(run_dir, state="stopped", exit_code=0)
    return code


if __name__ == "__main__":
    sys.exit(main())
