"""``lmf-engine predict``, ``lmf-engine eval`` and ``lmf-engine score``: judge a model by its outputs.

``predict CONFIG`` is ``train CONFIG`` with ``do_train: false``, ``do_predict: true`` and
``predict_with_generate: true``: a detached run that generates an answer for every evaluation row, survives the
terminal, can be stopped and resumed, and writes generated_predictions.jsonl and predict_results.json.
``eval CONFIG`` scores a multiple-choice task folder (MMLU style) in this process. ``score FILE`` computes the
BLEU/ROUGE scores of a generated_predictions.jsonl, LLaMA-Factory's or ours.
"""

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .output import OverridesArg, console, fail, report_config_issues
from .train_cmd import ConfigArg, DetachOpt, JsonOpt, WorkspaceOpt, launch

if TYPE_CHECKING:
    from lmf_engine.config import Config

PREDICT_KEYS = ["do_train=false", "do_predict=true", "predict_with_generate=true"]


def predict(
    config: ConfigArg,
    overrides: OverridesArg = None,
    detach: DetachOpt = False,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Generate an answer for every row of the eval data as a run, then score the answers (BLEU-4, ROUGE).

    The config names the model (and adapter), the template and ``eval_dataset`` (or ``val_size``); the run folder
    is its ``output_dir``. Exit code: 0 finished, 1 failed, 3 stopped, 2 for a config or launch problem.
    """

    def check(loaded: "Config") -> None:
        if not loaded.data.eval_dataset and not loaded.data.val_size:
            fail(f"{config}: predict needs eval_dataset (or val_size): the rows to answer")
        if loaded.finetuning.stage != "sft":
            fail(f"{config}: predict generates answers for stage sft (stage is {loaded.finetuning.stage})")

    launch(config, [*PREDICT_KEYS, *(overrides or [])], detach, as_json, workspace, check)


def evaluate(
    config: ConfigArg,
    overrides: OverridesArg = None,
    as_json: JsonOpt = False,
) -> None:
    """Score a multiple-choice benchmark (task, task_dir, n_shot, lang, batch_size, seed, save_dir) as
    LLaMA-Factory's ``llamafactory-cli eval`` does: accuracy per subject, per category and on average."""
    from lmf_engine.config import check_config
    from lmf_engine.evaluate.benchmark import Benchmark, BenchmarkError

    if not config.is_file():
        fail(f"{config}: no such config file")
    loaded, issues = check_config(config, overrides or [])
    if issues:
        report_config_issues(config, issues)
    try:
        benchmark = Benchmark(loaded)
    except BenchmarkError as exc:
        fail(f"{config}: {exc}")
    out = console(stderr=True)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=out, transient=True, disable=as_json) as bar:
        task = bar.add_task("loading the model", total=None)
        benchmark.load()
        result = benchmark.run(lambda done, total, subject: bar.update(task, completed=done, total=total,
                                                                      description=subject))  # fmt: skip
    scores = result.accuracy()
    if as_json:
        typer.echo(json.dumps({"task": loaded.evaluation.task, **scores}, ensure_ascii=False))
    else:
        typer.echo(result.log_text())
        if loaded.evaluation.save_dir:
            typer.echo(f"results saved in {loaded.evaluation.save_dir}", err=True)


def score(
    path: Annotated[Path, typer.Argument(help="generated_predictions.jsonl ({prompt, predict, label} lines).")],
    as_json: JsonOpt = False,
) -> None:
    """BLEU-4, ROUGE-1/2/L (as LLaMA-Factory computes them), exact match and answer length of a predictions file."""
    from lmf_engine.evaluate.predictions import read_prediction_file
    from lmf_engine.evaluate.similarity import MetricsUnavailable, score_predictions

    if not path.is_file():
        fail(f"{path}: no such file")
    try:
        rows = [{"predict": row.predict, "label": row.label} for row in read_prediction_file(path)]
    except ValueError as exc:
        fail(str(exc))
    try:
        scores = score_predictions(rows)
    except MetricsUnavailable as exc:
        fail(str(exc))
    if as_json:
        typer.echo(json.dumps({"rows": len(rows), **scores}))
        return
    typer.echo(f"{len(rows):,} rows")
    for key, value in scores.items():
        typer.echo(f"{key:>14}: {value:.4f}")
