"""Our conversion, mixing and splitting against LLaMA-Factory 0.9.5's (scripts/lf_dataset_goldens.py wrote them).

Every text dataset of ../shared/lmf-data and every synthetic edge-case dataset must give the same rows as
LLaMA-Factory's ``_load_single_dataset``; rows LLaMA-Factory's processors drop must be exactly the rows we report
as bad. Every scenario (concat/interleave, num_samples, max_samples, val_size, eval datasets, streaming) must give
the same train and validation rows in the same order.
"""

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from dataset_support import FIXTURES, SHARED_DATA

from lmf_engine.data.converters import to_lf_row
from lmf_engine.data.example import Example
from lmf_engine.data.loading import load_data

MEDIA = ("images", "videos", "audios")
GOLDENS = json.loads((FIXTURES / "lf_goldens.json").read_text(encoding="utf-8"))
SYNTHETIC = FIXTURES / "synthetic"
needs_shared = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/lmf-data is not present")


def lf_rows(dataset: Any, data_dir: Path | None = None) -> list[dict[str, Any]]:
    """LLaMA-Factory's aligned rows, media columns only where a row has media (as the goldens keep them), their paths
    relative to ``data_dir``."""
    rows = [to_lf_row(Example.from_row(row)) for row in dataset]
    out = []
    for row in rows:
        kept = {key: value for key, value in row.items() if value is not None or key[1:] not in MEDIA}
        for kind in MEDIA:
            if kept.get(f"_{kind}") and data_dir is not None:
                kept[f"_{kind}"] = [os.path.relpath(path, data_dir) for path in kept[f"_{kind}"]]
        out.append(kept)
    return out


def digest(rows: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


def check_dataset(make_config: Any, data_dir: Path, name: str, golden: dict[str, Any]) -> None:
    stage = golden["stage"]
    loaded = load_data(make_config(data_dir, dataset=name, stage=stage), on_bad_row="skip")
    rows = lf_rows(loaded.train, data_dir)
    assert loaded.bad_rows.count == len(golden["dropped"])
    assert sorted(r.row - 1 for r in loaded.bad_rows.first) == golden["dropped"][:5]
    assert len(rows) == golden["rows"] - len(golden["dropped"])
    assert rows[:3] == golden["first"] or golden.get("order_free")
    hashed = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True)) if golden.get("order_free") else rows
    assert digest(hashed) == golden["sha256"]


@needs_shared
@pytest.mark.parametrize("name", sorted(GOLDENS["datasets"]))
def test_shared_datasets_convert_like_llamafactory(make_config: Any, name: str) -> None:
    check_dataset(make_config, SHARED_DATA, name, GOLDENS["datasets"][name])


@pytest.mark.parametrize("name", sorted(GOLDENS["synthetic"]))
def test_edge_case_datasets_convert_like_llamafactory(make_config: Any, name: str) -> None:
    check_dataset(make_config, SYNTHETIC, name, GOLDENS["synthetic"][name])


@pytest.fixture(scope="module")
def scenario_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared dataset_info.json plus the scenarios' extra entries, with absolute file names."""
    info = json.loads((SHARED_DATA / "dataset_info.json").read_text()) if SHARED_DATA.is_dir() else {}
    entries = {**info, **GOLDENS["extra_entries"]}
    folder = tmp_path_factory.mktemp("scenarios")
    absolute = {
        k: {**v, "file_name": str(SHARED_DATA / v["file_name"])} if "file_name" in v else v for k, v in entries.items()
    }
    (folder / "dataset_info.json").write_text(json.dumps(absolute))
    return folder


def summary(dataset: Any) -> dict[str, Any]:
    rows = lf_rows(dataset)
    return {"rows": len(rows), "sha256": digest(rows), "head": [digest([r])[:12] for r in rows[:5]]}


@needs_shared
@pytest.mark.parametrize("name", sorted(GOLDENS["scenarios"]))
def test_mixing_and_splitting_match_llamafactory(make_config: Any, scenario_dir: Path, name: str) -> None:
    golden = dict(GOLDENS["scenarios"][name])
    values = dict(golden.pop("values"))
    if values.get("streaming"):
        values["max_steps"] = 10
    loaded = load_data(make_config(scenario_dir, **values), on_bad_row="skip")
    ours = {"train": summary(loaded.train)}
    if isinstance(loaded.eval, dict):
        ours.update({f"validation_{k}": summary(v) for k, v in loaded.eval.items()})
    elif loaded.eval is not None:
        ours["validation"] = summary(loaded.eval)
    assert ours == golden
