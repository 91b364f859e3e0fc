"""``do_predict`` with ``predict_with_generate``: generate an answer for every evaluation row, in parts that a
stopped run continues from, with the transformers back end or vLLM (``infer_backend: vllm``).

Transformers: the rows are predicted by the trainer (its batches, left padding and generation arguments, as
LLaMA-Factory's ``do_predict``), ``PART_BATCHES`` batches at a time. vLLM: as LLaMA-Factory's
``scripts/vllm_infer.py`` (prompt token ids, its sampling parameters and stop tokens, one LoRA request), a part at
a time. Each part's rows are appended to ``generated_predictions.partial.jsonl`` as soon as it is done. A run
stopped during prediction and resumed (``lmf-engine runs resume``) skips the rows already written; parts start at
whole batches and each part seeds the random generators (seed + part number), so the batches and the generated
tokens, sampled ones included, are those of an uninterrupted run. (Under sampling, parts after the first therefore
differ from LLaMA-Factory's one pass; greedy answers are the same.) At the end the file becomes
``generated_predictions.jsonl`` and the scores (BLEU-4, ROUGE-1/2/L as LLaMA-Factory computes them, exact match,
answer length) and timings go to ``predict_results.json`` and ``all_results.json`` under LLaMA-Factory's
``predict_`` names.
"""

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .sft_trainer import PREDICTIONS_FILE

if TYPE_CHECKING:
    from lmf_engine.data.pipeline import PreparedData

    from .common import StageContext

PART_BATCHES = 32
VLLM_PART_ROWS = 1024
PARTIAL_FILE = "generated_predictions.partial.jsonl"

Rows = list[dict[str, str]]


@dataclass
class PredictionFile:
    """The partial predictions of a run: where a resumed run goes on, and the final file with its scores."""

    ctx: "StageContext"
    total: int
    batch: int
    main: bool = True
    runtime: float = 0.0
    done: int = field(init=False, default=0)

    @property
    def partial(self) -> Path:
        return self.ctx.run_dir / PARTIAL_FILE

    def start(self) -> int:
        """The rows already predicted (a whole number of batches; none unless the run resumes)."""
        if not self.ctx.resuming and self.partial.exists() and self.main:
            self.partial.unlink()
        written = 0
        if self.partial.exists():
            with open(self.partial, encoding="utf-8") as handle:
                written = sum(1 for line in handle if line.endswith("\n"))
        self.done = (written // self.batch) * self.batch
        if self.done and self.main:
            self.ctx.report(
                f"predictions: {self.done:,} of {self.total:,} rows were written before the stop; predicting the rest"
            )
            with open(self.partial, encoding="utf-8") as handle:
                kept = [line for line in handle if line.endswith("\n")][: self.done]
            self.partial.write_text("".join(kept), encoding="utf-8")
        return self.done

    def write(self, generate: Callable[[int, int], Rows], rows_per_part: int, seed: int) -> None:
        """Predict every part left with ``generate(start, end)`` and append its rows."""
        from transformers import set_seed

        for start in range(self.done, self.total, rows_per_part):
            end = min(start + rows_per_part, self.total)
            set_seed(seed + start // rows_per_part)  # sampled answers do not depend on where a resume began
            began = time.perf_counter()
            rows = generate(start, end)
            self.runtime += time.perf_counter() - began
            if self.main:
                with open(self.partial, "a", encoding="utf-8") as handle:
                    for row in rows:
                        handle.write(json.dumps(row, ensure_ascii=False) + "\n")

    def finish(self) -> dict[str, float]:
        """Rename the partial file and score it; the predict_ metrics."""
        from lmf_engine.evaluate.similarity import score_predictions

        final = self.ctx.run_dir / PREDICTIONS_FILE
        self.partial.replace(final)
        with open(final, encoding="utf-8") as handle:
            scores = score_predictions(json.loads(line) for line in handle)
        predicted, runtime = self.total - self.done, self.runtime
        metrics = {f"predict_{key}": value for key, value in scores.items()}
        metrics.update(
            predict_runtime=round(runtime, 4),
            predict_samples_per_second=round(predicted / runtime, 3) if runtime else 0.0,
            predict_steps_per_second=round(math.ceil(predicted / self.batch) / runtime, 3) if runtime else 0.0,
        )
        return metrics


def predict_in_parts(
    ctx: "StageContext", trainer: Any, dataset: Any, gen_kwargs: dict[str, Any], skip_special_tokens: bool
) -> dict[str, float]:
    """Predict ``dataset`` with the trainer into the run folder (continuing a resumed run); the metrics."""
    from .callbacks import RunCallback

    args = trainer.args
    batch = args.per_device_eval_batch_size * max(1, args.world_size)
    output = PredictionFile(ctx, len(dataset), batch, trainer.is_world_process_zero())
    done = output.start()
    callback = next((c for c in trainer.callback_handler.callbacks if isinstance(c, RunCallback)), None)
    if callback is not None:
        callback.predict_total = math.ceil(len(dataset) / batch)
        callback.predict_steps = callback.start_step = done // batch
        callback.start_time = time.time()

    def generate(start: int, end: int) -> Rows:
        part = dataset.select(range(start, end))
        results = trainer.predict(part, metric_key_prefix="predict", **gen_kwargs)
        return trainer.prediction_rows(part, results, skip_special_tokens) if output.main else []

    compute_metrics, trainer.compute_metrics = trainer.compute_metrics, None
    try:
        output.write(generate, PART_BATCHES * batch, args.seed)
    finally:
        trainer.compute_metrics = compute_metrics
    return output.finish() if output.main else {}


def vllm_sampling_kwargs(ctx: "StageContext", stop_ids: list[int], skip_special_tokens: bool) -> dict[str, Any]:
    """``SamplingParams`` keywords as scripts/vllm_infer.py builds them from the generating keys."""
    generating = ctx.config.generating
    return {
        "repetition_penalty": generating.repetition_penalty or 1.0,
        "temperature": generating.temperature if generating.do_sample else 0.0,
        "top_p": generating.top_p or 1.0,
        "top_k": generating.top_k or -1,
        "stop_token_ids": stop_ids,
        "max_tokens": generating.max_new_tokens,
        "skip_special_tokens": skip_special_tokens,
        "seed": ctx.config.training.seed,
    }


def vllm_predict(ctx: "StageContext", data: "PreparedData") -> dict[str, float]:
    """Predict the evaluation rows with vLLM (``infer_backend: vllm``) into the run folder; the metrics."""
    import vllm
    from vllm import SamplingParams
    from vllm.lora.request import LoRARequest

    from lmf_engine.data.processors import IGNORE_INDEX
    from lmf_engine.data.templates.fixes import stop_token_ids
    from lmf_engine.model import vllm_args

    config, tokenizer, dataset = ctx.config, data.tokenizer, data.eval
    args = vllm_args.engine_args(config, vllm.__version__, vllm_args.device_count())
    if "vllm_maxlen" not in config.explicit:  # as scripts/vllm_infer.py sizes it
        args["max_model_len"] = config.data.cutoff_len + config.generating.max_new_tokens
    lora = vllm_args.lora_request_args(config)
    lora_request = LoRARequest(*lora) if lora else None
    skip = bool(config.get("skip_special_tokens"))
    stop_ids = [i for i in stop_token_ids(data.template, tokenizer) if i is not None]
    output = PredictionFile(ctx, len(dataset), 1)
    output.start()
    llm = vllm.LLM(**args)

    def generate(start: int, end: int) -> Rows:
        part = dataset[start:end]
        inputs = [{"prompt_token_ids": ids} for ids in part["input_ids"]]
        params = SamplingParams(**vllm_sampling_kwargs(ctx, stop_ids, skip))
        results = llm.generate(inputs, params, lora_request=lora_request)
        rows = []
        for ids, labels, result in zip(part["input_ids"], part["labels"], results, strict=True):
            rows.append({
                "prompt": tokenizer.decode(ids, skip_special_tokens=skip),
                "predict": result.outputs[0].text,
                "label": tokenizer.decode([t for t in labels if t != IGNORE_INDEX], skip_special_tokens=skip),
            })  # fmt: skip
        if ctx.events is not None:
            ctx.events.emit("progress", step=end, total_steps=len(dataset), phase="predict",
                            percentage=round(end / len(dataset) * 100, 2))  # fmt: skip
        return rows

    output.write(generate, VLLM_PART_ROWS, config.training.seed)
    return output.finish()
