"""The ``evaluation`` group: multiple-choice benchmarks (MMLU style) run by ``lmf-engine eval``."""

from dataclasses import dataclass
from typing import Literal

from .fields import opt


@dataclass
class EvaluationConfig:
    """Which benchmark task folder to score and how (LLaMA-Factory's evaluation keys)."""

    task: str | None = opt(
        None, "Benchmark as <folder>_<split> under task_dir, e.g. mmlu_test (split: test, validation or train)."
    )
    task_dir: str = opt("evaluation", "Folder holding the task folders (mapping.json and per-subject CSV files).")
    batch_size: int = opt(4, "Questions scored per forward pass.", ge=1)
    n_shot: int = opt(5, "Solved examples from the subject's dev split put before each question.", ge=0)
    lang: Literal["en", "zh"] = opt("en", "Language of the prompt's wording.")
    save_dir: str | None = opt(None, "Folder results.json and results.log are written to (must not exist).")
