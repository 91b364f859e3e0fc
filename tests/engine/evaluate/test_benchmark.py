"""MMLU-style benchmarks: LLaMA-Factory 0.9.5's Evaluator's answers on the same model and task folder."""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from lmf_engine.config import load_config
from lmf_engine.evaluate.benchmark import Benchmark, BenchmarkError, draw_support, read_split

GOLDENS = json.loads((Path(__file__).parents[2] / "fixtures" / "eval" / "lf_eval_goldens.json").read_text("utf-8"))


def config(model: Path, task_dir: Path, **values: Any) -> Any:
    return load_config(
        values={"model_name_or_path": str(model), "template": "qwen", "task_dir": str(task_dir), **values}
    )


@pytest.mark.parametrize("name", GOLDENS["benchmark"])
def test_every_answer_equals_llama_factorys_evaluator(
    name: str, sharp_model: Path, task_dir: Path, tmp_path: Path
) -> None:
    golden = GOLDENS["benchmark"][name]
    save_dir = tmp_path / "results"
    result = Benchmark(config(sharp_model, task_dir, save_dir=str(save_dir), **golden["case"])).run()
    assert result.answers == golden["answers"]
    assert len({a for answers in result.answers.values() for a in answers}) > 1  # the model follows the prompt
    log = (save_dir / "results.log").read_text(encoding="utf-8")
    assert log.split("\n\n")[0] == golden["log"]
    saved = json.loads((save_dir / "results.json").read_text(encoding="utf-8"))
    assert {subject: list(a.values()) for subject, a in saved.items()} == golden["answers"]
    scores = json.loads((save_dir / "scores.json").read_text(encoding="utf-8"))
    assert set(scores["subjects"]) == set(golden["answers"])


def test_a_scripted_model_scores_its_known_accuracy(sharp_model: Path, task_dir: Path) -> None:
    """A model that always answers A scores exactly the share of A answers, per subject and overall."""
    bench = Benchmark(config(sharp_model, task_dir, task="quiz_test", n_shot=0))
    bench.load()
    bench._answer = lambda batch: ["A"] * len(batch)  # type: ignore[method-assign]
    done: list[tuple[int, int, str]] = []
    result = bench.run(lambda d, t, s: done.append((d, t, s)))
    rows = {s: read_split(task_dir / "quiz" / "test" / f"{s}_test.csv") for s in result.answers}
    expected = {s: 100 * sum(r["answer"] == "A" for r in rs) / len(rs) for s, rs in rows.items()}
    assert result.accuracy()["subjects"] == pytest.approx(expected)
    everything = [r for rs in rows.values() for r in rs]
    assert result.accuracy()["categories"]["Average"] == pytest.approx(
        100 * sum(r["answer"] == "A" for r in everything) / len(everything)
    )
    assert done[-1][:2] == (len(everything), len(everything))


def test_mmlus_headerless_files_under_data_are_read(tmp_path: Path, task_dir: Path) -> None:
    folder = tmp_path / "mmlu"
    (folder / "data" / "dev").mkdir(parents=True)
    source = task_dir / "quiz" / "dev" / "poetry_dev.csv"
    lines = source.read_text(encoding="utf-8").splitlines()[1:]
    (folder / "data" / "dev" / "poetry_dev.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert read_split(folder / "data" / "dev" / "poetry_dev.csv") == read_split(source)


def test_task_problems_are_named_before_the_model_loads(sharp_model: Path, task_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match="must be <folder>_<split>"):
        Benchmark(config(sharp_model, task_dir, task="quiz"))
    with pytest.raises(BenchmarkError, match="split must be one of test, validation, train"):
        Benchmark(config(sharp_model, task_dir, task="quiz_dev"))
    with pytest.raises(BenchmarkError, match=r"task folder .*nothing does not exist"):
        Benchmark(config(sharp_model, task_dir, task="nothing_test"))
    broken = tmp_path / "tasks"
    shutil.copytree(task_dir, broken)
    (broken / "quiz" / "test" / "poetry_test.csv").unlink()
    with pytest.raises(BenchmarkError, match=r"poetry_test\.csv does not exist \(subject 'poetry', split 'test'\)"):
        Benchmark(config(sharp_model, broken, task="quiz_test"))
    (tmp_path / "taken").mkdir()
    with pytest.raises(BenchmarkError, match=r"save_dir: .*taken already exists"):
        Benchmark(config(sharp_model, task_dir, task="quiz_test", save_dir=str(tmp_path / "taken")))


def test_the_few_shot_draw_follows_the_global_seed() -> None:
    import numpy as np

    np.random.seed(42)
    first = [draw_support(5, 3) for _ in range(4)]
    np.random.seed(42)
    assert [draw_support(5, 3) for _ in range(4)] == first
    assert len({tuple(d) for d in first}) > 1 and draw_support(2, 5) in ([0, 1], [1, 0])
