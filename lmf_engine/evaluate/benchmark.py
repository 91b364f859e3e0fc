"""Multiple-choice benchmarks as LLaMA-Factory 0.9.5's ``Evaluator`` scores them (``llamafactory-cli eval``).

A task is a folder ``<task_dir>/<name>`` holding ``mapping.json`` (subject -> ``{"name", "category"}``) and, per
subject and split, a CSV of question, A, B, C, D, answer: ``{dev,val,test}/<subject>_<dir>.csv`` (LLaMA-Factory's
``evaluation/`` folders unzipped: C-Eval's and CMMLU's files with a header row, MMLU's ``data/...`` without one).
``task: mmlu_test`` scores the ``test`` split (``validation`` is ``val``, ``train`` is ``dev``).

Each question becomes a conversation: ``n_shot`` solved questions of the subject's dev split (drawn per question as
LLaMA-Factory draws them, an unseeded ``datasets`` shuffle from the global NumPy state that ``seed`` seeds), then
the question, the first user turn prefixed with the language's instruction. The model's template encodes it (one
turn), and the answer is the choice letter whose token has the highest logit at the last prompt position. Accuracy
per subject, per category (STEM, Social Sciences, Humanities, Other) and on average; ``save_dir`` receives
LLaMA-Factory's ``results.json`` (the letters answered) and ``results.log`` (the category scores, then the
subjects'), plus ``scores.json`` with every accuracy.
"""

import csv
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lmf_engine.config import Config

CHOICES = ("A", "B", "C", "D")
CATEGORIES = ("Average", "STEM", "Social Sciences", "Humanities", "Other")
SPLIT_DIRS = {"test": "test", "validation": "val", "train": "dev"}
COLUMNS = ("question", *CHOICES, "answer")

Progress = Callable[[int, int, str], None]


class BenchmarkError(ValueError):
    """A task folder, split or key that cannot be used; the message names it."""


@dataclass(frozen=True)
class EvalTemplate:
    """How a question is worded: the instruction before the first question, each choice, the answer cue."""

    system: str
    choice: str
    answer: str

    def parse(self, example: dict[str, Any]) -> tuple[str, str]:
        choices = [self.choice.format(choice=ch, content=example[ch]) for ch in CHOICES if ch in example]
        return "".join([str(example["question"]), *choices, self.answer]), str(example["answer"])

    def messages(self, target: dict[str, Any], support: list[dict[str, Any]], subject: str) -> list[dict[str, str]]:
        messages = []
        for example in [*support, target]:
            prompt, response = self.parse(example)
            messages += [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
        messages[0]["content"] = self.system.format(subject=subject) + messages[0]["content"]
        return messages


CHOICE_LINE = "\n{choice}. {content}"
TEMPLATES = {
    "en": EvalTemplate(
        "The following are multiple choice questions (with answers) about {subject}.\n\n", CHOICE_LINE, "\nAnswer:"
    ),
    "zh": EvalTemplate("以下是中国关于{subject}考试的单项选择题，请选出其中的正确答案。\n\n", CHOICE_LINE, "\n答案："),
}


def split_task(task: str | None) -> tuple[str, str]:
    """``mmlu_test`` -> (``mmlu``, ``test``)."""
    if not task or "_" not in task:
        raise BenchmarkError(f"task: {task!r} must be <folder>_<split>, e.g. mmlu_test")
    name, split = task.rsplit("_", 1)
    if split not in SPLIT_DIRS:
        raise BenchmarkError(f"task: {task!r}: the split must be one of {', '.join(SPLIT_DIRS)} (got {split!r})")
    return name, split


def read_mapping(folder: Path) -> dict[str, dict[str, str]]:
    path = folder / "mapping.json"
    if not path.is_file():
        raise BenchmarkError(f"{path} does not exist: a task folder holds mapping.json and per-subject CSV files")
    try:
        mapping = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BenchmarkError(f"{path}: invalid JSON: {exc}") from None
    for subject, info in mapping.items():
        if not isinstance(info, dict) or not {"name", "category"} <= set(info):
            raise BenchmarkError(f"{path}: subject {subject!r} needs a name and a category")
    return mapping


def split_file(folder: Path, subject: str, split: str) -> Path:
    directory = SPLIT_DIRS[split]
    for base in (folder, folder / "data"):
        path = base / directory / f"{subject}_{directory}.csv"
        if path.is_file():
            return path
    raise BenchmarkError(
        f"{folder / directory / f'{subject}_{directory}.csv'} does not exist (subject {subject!r}, split {split!r})"
    )


def read_split(path: Path) -> list[dict[str, Any]]:
    """The rows of one CSV as LLaMA-Factory's loaders read them (pandas types; a header row when it names the
    question and answer columns, else MMLU's six unnamed columns)."""
    import pandas as pd

    with open(path, encoding="utf-8", newline="") as handle:
        first = next(csv.reader(handle), [])
    names = {cell.strip().lower() for cell in first}
    if {"question", "answer"} <= names:
        frame = pd.read_csv(path, encoding="utf-8")
        frame = frame.rename(columns={c: c.strip().lower() for c in frame.columns if c.strip().lower() in COLUMNS})
    else:
        frame = pd.read_csv(path, header=None)
        if frame.shape[1] != len(COLUMNS):
            raise BenchmarkError(f"{path}: expected {len(COLUMNS)} columns (question, A-D, answer) without a header")
        frame.columns = list(COLUMNS)
    missing = [c for c in ("question", "answer") if c not in frame.columns]
    if missing:
        raise BenchmarkError(f"{path}: no {' or '.join(missing)} column")
    return frame.to_dict(orient="records")


def draw_support(rows: int, n_shot: int) -> list[int]:
    """The dev rows put before one question: ``datasets``' unseeded shuffle, which takes its seed from the global
    NumPy state and advances it one step (so the draw depends on ``seed`` and on the questions before)."""
    import numpy as np

    _, keys, pos, *_ = np.random.get_state()
    seed = keys[pos] if pos < 624 else keys[0]
    np.random.random()
    permutation = np.random.default_rng(seed).permutation(rows)
    return [int(i) for i in permutation[: min(n_shot, rows)]]


@dataclass
class BenchmarkResult:
    """Letters answered per subject, and whether each was right."""

    answers: dict[str, list[str]] = field(default_factory=dict)
    correct: dict[str, list[bool]] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)

    def accuracy(self) -> dict[str, dict[str, float]]:
        """``{"categories": {...}, "subjects": {...}}`` in percent (categories in LLaMA-Factory's order)."""
        by_category: dict[str, list[bool]] = {name: [] for name in CATEGORIES}
        for subject, marks in self.correct.items():
            by_category.setdefault(self.categories[subject], []).extend(marks)
            by_category["Average"].extend(marks)
        return {
            "categories": {name: 100 * sum(m) / len(m) for name, m in by_category.items() if m},
            "subjects": {subject: 100 * sum(m) / len(m) for subject, m in self.correct.items() if m},
        }

    def log_text(self) -> str:
        """LLaMA-Factory's results.log lines (categories), then one line per subject."""
        scores = self.accuracy()
        lines = [f"{name:>15}: {value:.2f}" for name, value in scores["categories"].items()]
        return "\n".join([*lines, "", *(f"{name:>15}: {value:.2f}" for name, value in scores["subjects"].items())])

    def save(self, save_dir: str | os.PathLike[str]) -> Path:
        folder = Path(save_dir)
        folder.mkdir(parents=True, exist_ok=False)
        results = {subject: {str(i): a for i, a in enumerate(answers)} for subject, answers in self.answers.items()}
        (folder / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
        (folder / "results.log").write_text(self.log_text(), encoding="utf-8")
        (folder / "scores.json").write_text(json.dumps(self.accuracy(), indent=1), encoding="utf-8")
        return folder


class Benchmark:
    """A config's model, template and task; :meth:`run` scores every subject."""

    def __init__(self, config: "Config") -> None:
        self.config = config
        evaluation = config.evaluation
        self.task, self.split = split_task(evaluation.task)
        self.folder = Path(evaluation.task_dir) / self.task
        if not self.folder.is_dir():
            raise BenchmarkError(f"task folder {self.folder} does not exist (task_dir: {evaluation.task_dir})")
        self.mapping = read_mapping(self.folder)
        for subject in self.mapping:  # every file is checked before the model loads
            split_file(self.folder, subject, "train")
            split_file(self.folder, subject, self.split)
        if evaluation.save_dir and os.path.exists(evaluation.save_dir):
            raise BenchmarkError(f"save_dir: {evaluation.save_dir} already exists; choose another folder")
        self.template = TEMPLATES[evaluation.lang]
        self.model: Any = None

    def rows(self, subject: str) -> list[dict[str, Any]]:
        """The questions of ``subject`` in the task's split."""
        return read_split(split_file(self.folder, subject, self.split))

    def load(self) -> None:
        from lmf_engine.data.pipeline import template_for
        from lmf_engine.model.loader import load_model
        from lmf_engine.model.tokenizer import load_tokenizer

        self.tokenizer = load_tokenizer(self.config)
        self.tokenizer.padding_side = "right"
        self.chat_template = template_for(self.config, self.tokenizer)
        self.model = load_model(self.config, self.tokenizer, is_trainable=False)
        self.choice_ids = [self.tokenizer.encode(ch, add_special_tokens=False)[-1] for ch in CHOICES]

    def _prompt_ids(self, messages: list[dict[str, str]]) -> list[int]:
        from lmf_engine.data.example import Message
        from lmf_engine.data.templates import ElementEncoder

        prompt, _ = self.chat_template.render_oneturn([Message(m["role"], m["content"]) for m in messages])
        return ElementEncoder(self.tokenizer).ids(prompt)

    def _answer(self, batch: list[list[int]]) -> list[str]:
        import torch

        longest = max(len(ids) for ids in batch)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([ids + [pad] * (longest - len(ids)) for ids in batch], device=self.model.device)
        mask = torch.tensor([[1] * len(ids) + [0] * (longest - len(ids)) for ids in batch], device=self.model.device)
        with torch.inference_mode():
            logits = self.model(input_ids=input_ids, attention_mask=mask).logits
        last = torch.stack([logits[i, len(ids) - 1] for i, ids in enumerate(batch)])
        probs = torch.softmax(last[:, self.choice_ids].float(), dim=-1)
        return [CHOICES[int(i)] for i in torch.argmax(probs, dim=-1)]

    def run(self, progress: Progress | None = None) -> BenchmarkResult:
        """Score every subject (in mapping.json's order); ``progress(done, total, subject)`` after each batch."""
        from transformers import set_seed

        if self.model is None:
            self.load()
        evaluation = self.config.evaluation
        set_seed(self.config.training.seed)
        splits = {
            subject: (read_split(split_file(self.folder, subject, "train")), self.rows(subject))
            for subject in self.mapping
        }
        total, done = sum(len(rows) for _, rows in splits.values()), 0
        result = BenchmarkResult()
        for subject, (dev, rows) in splits.items():
            info = self.mapping[subject]
            prompts, labels = [], []
            for row in rows:
                support = [dev[i] for i in draw_support(len(dev), evaluation.n_shot)]
                messages = self.template.messages(row, support, info["name"])
                prompts.append(self._prompt_ids(messages))
                labels.append(messages[-1]["content"])
            answers: list[str] = []
            for start in range(0, len(prompts), evaluation.batch_size):
                answers += self._answer(prompts[start : start + evaluation.batch_size])
                done += len(prompts[start : start + evaluation.batch_size])
                if progress is not None:
                    progress(done, total, subject)
            result.answers[subject] = answers
            result.correct[subject] = [a == b for a, b in zip(answers, labels, strict=True)]
            result.categories[subject] = info["category"]
        if evaluation.save_dir:
            result.save(evaluation.save_dir)
        return result
