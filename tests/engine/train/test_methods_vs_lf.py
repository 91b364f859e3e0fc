"""Each training method's first losses equal LLaMA-Factory 0.9.5's on the same config and seed.

The goldens (tests/fixtures/methods/CASE.json) hold the whole config, any ``lmf-engine`` set-up commands and the
losses ``llamafactory-cli train`` logged; scripts/lf_method_goldens.py makes them. Every case trains in one child
process (imports paid once), each in its own run folder of a copy of the demo workspace.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from train_support import copy_workspace, losses

from lmf_engine.config.optimizer_extras import OPTIMIZER_PACKAGES, installed
from lmf_engine.runs.record import RunRecord, write_run

GOLDENS = sorted((Path(__file__).resolve().parents[2] / "fixtures" / "methods").glob("*.json"))
CASES = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in GOLDENS}
TOLERANCE = 1e-4


def missing_package(golden: dict[str, Any]) -> str | None:
    """Why a case cannot run here: the optional optimizer package it needs is not installed (its extra is named)."""
    for package in OPTIMIZER_PACKAGES:
        if golden["config"].get(package.key) and not installed(package.module):
            return package.message
    return None


RUN_ALL = "import sys\nfrom lmf_engine.train.entry import main\nfor run_dir in sys.argv[1:]:\n    main([run_dir])\n"


@pytest.fixture(scope="module")
def method_runs(
    demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> dict[str, Path]:
    """Every selected case trained: case name -> run folder."""
    selected = {
        item.callspec.params["name"]
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec")
    }
    workspace = copy_workspace(demo_workspace, tmp_path_factory.mktemp("methods"))
    runs: dict[str, Path] = {}
    for name, golden in CASES.items():
        if name not in selected:
            continue
        if missing_package(golden):
            continue
        for argv in golden["setup"]:
            subprocess.run([sys.executable, "-m", "lmf_engine", *argv], cwd=workspace, check=True)
        run_dir = workspace / "runs" / f"method_{name}"
        run_dir.mkdir(parents=True)
        config: dict[str, Any] = {**golden["config"], "output_dir": f"runs/method_{name}"}
        (run_dir / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        write_run(run_dir, RunRecord(name=run_dir.name, cwd=str(workspace)))
        runs[name] = run_dir
    with open(workspace / "methods.log", "wb") as log:
        subprocess.run([sys.executable, "-c", RUN_ALL, *map(str, runs.values())], stdout=log, stderr=subprocess.STDOUT)
    return runs


@pytest.mark.parametrize("name", sorted(CASES))
def test_first_losses_equal_llamafactory(name: str, method_runs: dict[str, Path]) -> None:
    missing = missing_package(CASES[name])
    if missing:
        pytest.skip(missing)
    run_dir = method_runs[name]
    state = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert state["state"] == "finished", f"{name}: {state.get('error')}"
    golden = CASES[name]["losses"]
    ours = losses(run_dir)
    assert [step for step, _ in ours] == list(range(1, len(golden) + 1))
    assert [loss for _, loss in ours] == pytest.approx(golden, abs=TOLERANCE)
