"""The Ray driver's decisions, without a cluster: ray.init arguments, each worker's bundle and environment."""

from pathlib import Path
from typing import Any

import pytest

from lmf_engine.config import load_config
from lmf_engine.train import entry
from lmf_engine.train.ray_launch import RayLaunchError, init_kwargs, worker_bundle, worker_environment


def config(**values: Any) -> Any:
    return load_config(values=values)


def test_ray_init_arguments_come_from_a_mapping_or_json_and_a_local_cluster_has_no_dashboard(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert init_kwargs(config()) == {"include_dashboard": False}
    assert init_kwargs(config(ray_init_kwargs={"num_cpus": 4})) == {"num_cpus": 4, "include_dashboard": False}
    assert init_kwargs(config(ray_init_kwargs='{"address": "ray://head:10001"}')) == {"address": "ray://head:10001"}
    assert init_kwargs(config(ray_init_kwargs={"include_dashboard": True})) == {"include_dashboard": True}
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    assert init_kwargs(config()) == {}
    with pytest.raises(RayLaunchError, match=r"^ray_init_kwargs: 'address=x' is not a JSON mapping$"):
        init_kwargs(config(ray_init_kwargs="address=x"))


def test_a_worker_takes_a_gpu_where_the_cluster_has_them_else_a_cpu() -> None:
    gpus = {"CPU": 32.0, "GPU": 4.0}
    assert worker_bundle(config(ray_num_workers=4), gpus) == {"GPU": 1}
    assert worker_bundle(config(ray_num_workers=2, use_cpu=True), gpus) == {"CPU": 1}
    assert worker_bundle(config(ray_num_workers=2), {"CPU": 2.0}) == {"CPU": 1}
    given = config(ray_num_workers=2, resources_per_worker='{"GPU": 1, "CPU": 8}')
    assert worker_bundle(given, gpus) == {"GPU": 1, "CPU": 8}


def test_a_cluster_too_small_for_the_workers_is_an_error_naming_the_key() -> None:
    with pytest.raises(
        RayLaunchError, match=r"^ray_num_workers: 8 workers need 8 GPU in all, and the Ray cluster has 4$"
    ):
        worker_bundle(config(ray_num_workers=8), {"CPU": 64.0, "GPU": 4.0})
    with pytest.raises(RayLaunchError, match=r"^resources_per_worker: CPU: -1 is not a non-negative number$"):
        worker_bundle(config(resources_per_worker={"CPU": -1}), {"CPU": 4.0})


def test_each_worker_is_one_rank_of_the_run_and_records_no_process_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environment = worker_environment(1, 2, ("10.0.0.5", 29400), Path("/ws/runs/r"))
    assert environment["RANK"] == "1" and environment["WORLD_SIZE"] == "2" and environment["LOCAL_RANK"] == "0"
    assert (environment["MASTER_ADDR"], environment["MASTER_PORT"]) == ("10.0.0.5", "29400")
    assert environment["LMF_RUN_DIR"] == "/ws/runs/r" and environment[entry.LAUNCHER_VARIABLE] == "ray"
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.delenv(entry.LAUNCHER_VARIABLE, raising=False)
    assert set(entry._own_process()) == {"pid", "pgid"}
    monkeypatch.setenv(entry.LAUNCHER_VARIABLE, "ray")
    assert entry._own_process() == {}
