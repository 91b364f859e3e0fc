"""Multimodal rows encoded as LLaMA-Factory 0.9.5 encodes them: the demo's picture datasets with the demo's tiny
Qwen2-VL and LLaVA models give the same input ids, labels and media columns (goldens by scripts/lf_mm_goldens.py)."""

import json
from pathlib import Path
from typing import Any

import pytest

from lmf_engine.config import load_config
from lmf_engine.data.pipeline import prepare_data

FIXTURES = Path(__file__).parents[2] / "fixtures" / "multimodal"
CASES = sorted(path.stem for path in FIXTURES.glob("*.json"))
LF_ONLY_KEYS = {"output_dir", "report_to", "preprocessing_num_workers"}


def golden(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def test_every_case_has_a_golden() -> None:
    expected = {"qwen2_vl_sft", "qwen2_vl_sft_pixels", "qwen2_vl_dpo", "qwen3_vl_sft", "llava_sft", "llava_dpo"}
    assert expected | {"llava_next_sft"} <= set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_rows_equal_llamafactory(name: str, workspace: Path) -> None:
    expected = golden(name)
    values = {k: v for k, v in expected["config"].items() if k not in LF_ONLY_KEYS}
    config = load_config(values=values)
    prepared = prepare_data(config, use_cache=False)
    rows = [dict(row) for row in prepared.train]
    assert sorted(rows[0]) == expected["columns"]
    assert rows == expected["rows"]
