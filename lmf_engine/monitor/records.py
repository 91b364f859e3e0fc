"""Sample files: a run's ``system.jsonl`` and recorded sample files, read incrementally and summarised."""

import os
from pathlib import Path

from lmf_engine.util.jsonl import read_jsonl

from .samples import SystemSample
from .summary import SystemSummary, summarize

SYSTEM_FILE = "system.jsonl"


def read_samples(path: str | os.PathLike[str], offset: int = 0) -> tuple[list[SystemSample], int]:
    """The complete samples of a JSON Lines file after byte ``offset`` and the offset to read on from."""
    objects, offset = read_jsonl(path, offset)
    return [SystemSample.from_dict(obj) for obj in objects], offset


def run_system_summary(run_dir: str | os.PathLike[str]) -> SystemSummary:
    """The summary of a run's ``system.jsonl`` (empty when the run recorded none)."""
    samples, _ = read_samples(Path(run_dir) / SYSTEM_FILE)
    return summarize(samples)
