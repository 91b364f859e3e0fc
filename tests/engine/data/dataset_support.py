"""Helpers of the dataset-layer tests: write small data files and dataset_info.json, read converted rows."""

import json
from pathlib import Path
from typing import Any

SHARED_DATA = Path(__file__).resolve().parents[4] / "shared" / "lmf-data"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "datasets"


def write_info(folder: Path, entries: dict[str, Any]) -> Path:
    """Write ``folder``/dataset_info.json."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dataset_info.json").write_text(json.dumps(entries), encoding="utf-8")
    return folder


def write_json(path: Path, rows: list[dict[str, Any]], lines: bool = False) -> Path:
    """Write rows as a JSON array, or as JSON Lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if lines:
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    else:
        text = json.dumps(rows, ensure_ascii=False, indent=1)
    path.write_text(text, encoding="utf-8")
    return path


def alpaca_rows(n: int, prefix: str = "q") -> list[dict[str, Any]]:
    """``n`` plain alpaca rows."""
    return [{"instruction": f"{prefix}{i}", "input": "", "output": f"a{i}"} for i in range(n)]


def prompts(dataset: Any) -> list[str]:
    """The last prompt text of every converted row, in order."""
    return [row["_prompt"][-1]["content"] for row in dataset]
