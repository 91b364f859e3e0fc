"""``do_predict`` with ``predict_with_generate``: generate an answer for every evaluation row, in parts that a
stopped run continues from.

The rows are predicted by the trainer (its batches, left padding and generation arguments, as LLaMA-Factory's
``do_predict``), ``PART_BATCHES`` batches at a time; each part's rows are appended to
``generated_predictions.partial.jsonl`` as soon as it is done. A run stopped during prediction and resumed
(``lmf-engine runs resume``) skips the rows already written; parts start at whole batches and each part seeds the
random generators (seed + part number), so the batches and the generated tokens, sampled ones included, are those
of an uninterrupted run. (Under sampling, parts after the first therefore differ from LLaMA-Factory's one pass;
greedy answers are the same.) At the end the file becomes ``generated_predictions.jsonl``
and the scores (BLEU-4, ROUGE-1/2/L as LLaMA-Factory computes them, exact match, answer length) and timings go to
``predict_results.json`` and ``all_results.json`` under LLaMA-Factory's ``predict_`` names.
"""

import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .sft_trainer import PREDICTIONS_FILE

if TYPE_CHECKING:
    from .common import StageContext

PART_BATCHES = 32
PARTIAL_FILE = "generated_predictions.partial.jsonl"


def _rows_written(path: Path) -> int:
    if not path.exists():
        return 0
    with open(path, encoding="utf-8") as handle:
        return sum(1 for line in handle if line.endswith("\n"))


def predict_in_parts(
    ctx: "StageContext", trainer: Any, dataset: Any, gen_kwargs: dict[str, Any], skip_special_tokens: bool
) -> dict[str, float]:
    """Predict ``dataset`` into the run folder (continuing a partial file when the run resumes); the metrics."""
    from transformers import set_seed

    from lmf_engine.evaluate.similarity import score_predictions

    from .callbacks import RunCallback

    args = trainer.args
    partial = ctx.run_dir / PARTIAL_FILE
    if not ctx.resuming and partial.exists() and trainer.is_world_process_zero():
        partial.unlink()
    batch = args.per_device_eval_batch_size * max(1, args.world_size)
    part_rows = PART_BATCHES * batch
    done = (_rows_written(partial) // batch) * batch  # a whole number of batches, so batches are unchanged
    total = len(dataset)
    callback = next((c for c in trainer.callback_handler.callbacks if isinstance(c, RunCallback)), None)
    if callback is not None:
        callback.predict_total = math.ceil(total / batch)
        callback.predict_steps = callback.start_step = done // batch
        callback.start_time = time.time()
    if done and trainer.is_world_process_zero():
        ctx.report(f"predictions: {done:,} of {total:,} rows were written before the stop; predicting the rest")
        _keep_lines(partial, done)
    compute_metrics, trainer.compute_metrics = trainer.compute_metrics, None
    runtime = 0.0
    try:
        for start in range(done, total, part_rows):
            set_seed(args.seed + start // part_rows)  # sampled answers do not depend on where a resume began
            part = dataset.select(range(start, min(start + part_rows, total)))
            began = time.perf_counter()
            results = trainer.predict(part, metric_key_prefix="predict", **gen_kwargs)
            runtime += time.perf_counter() - began
            if trainer.is_world_process_zero():
                with open(partial, "a", encoding="utf-8") as handle:
                    for row in trainer.prediction_rows(part, results, skip_special_tokens):
                        handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        trainer.compute_metrics = compute_metrics
    if not trainer.is_world_process_zero():
        return {}
    final = ctx.run_dir / PREDICTIONS_FILE
    partial.replace(final)
    with open(final, encoding="utf-8") as handle:
        scores = score_predictions(json.loads(line) for line in handle)
    predicted = total - done
    metrics = {f"predict_{key}": value for key, value in scores.items()}
    metrics.update(
        predict_runtime=round(runtime, 4),
        predict_samples_per_second=round(predicted / runtime, 3) if runtime else 0.0,
        predict_steps_per_second=round(math.ceil(predicted / batch) / runtime, 3) if runtime else 0.0,
    )
    return metrics


def _keep_lines(path: Path, count: int) -> None:
    """Keep the first ``count`` complete lines of ``path`` (a part cut short by the stop is predicted again)."""
    with open(path, encoding="utf-8") as handle:
        lines = [line for line in handle if line.endswith("\n")][:count]
    path.write_text("".join(lines), encoding="utf-8")
