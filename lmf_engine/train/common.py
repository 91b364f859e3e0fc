"""What every stage shares: the stage context, tokenizer/data/model set-up, callbacks, and LLaMA-Factory's outputs
(final model and tokenizer, ``train_results.json`` / ``all_results.json``, ``trainer_state.json``, loss plots)."""

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmf_engine.util.packages import installed

from .signals import StopRequest

if TYPE_CHECKING:
    from transformers import Seq2SeqTrainingArguments

    from lmf_engine.config import Config
    from lmf_engine.data.background import BackgroundEncoder
    from lmf_engine.data.pipeline import PreparedData
    from lmf_engine.runs.events import EventWriter

log = logging.getLogger(__name__)


@dataclass
class StageContext:
    """What the entry point hands a stage's ``run(ctx)``.

    ``events`` is None on every process but the main one. ``resume_from`` is the checkpoint folder to resume from;
    ``resuming`` says the run was started with ``--resume`` (a prediction continues its partial file).
    """

    config: "Config"
    run_dir: Path
    stop: StopRequest
    events: "EventWriter | None" = None
    resume_from: str | None = None
    resuming: bool = False
    background: "BackgroundEncoder | None" = None

    def report(self, message: str) -> None:
        """A line about the run's data for its events (the main process) and its log."""
        log.info(message)
        if self.events is not None:
            self.events.emit("log", message=message, phase="data")

    def callbacks(self) -> list[Any]:
        """The run callback, plus the background encoder's progress, PiSSA conversion, early stopping, SwanLab
        logging and a multimodal model's processor files when the run has them."""
        from transformers import EarlyStoppingCallback

        from lmf_engine.model.processor_files import PROCESSOR_FILES

        from .callbacks import PissaConvertCallback, ProcessorFilesCallback, RunCallback

        callbacks: list[Any] = [RunCallback(self.run_dir, self.events, self.stop)]
        model_dir = Path(self.config.get("model_name_or_path") or "")
        if any((model_dir / name).is_file() for name in PROCESSOR_FILES):
            callbacks.append(ProcessorFilesCallback(str(model_dir)))
        if self.background is not None:
            from .encode_progress import EncodeProgressCallback

            callbacks.append(EncodeProgressCallback(self.background, self.events))
        if self.config.get("pissa_convert"):
            callbacks.append(PissaConvertCallback())
        if self.config.get("early_stopping_steps") is not None:
            callbacks.append(EarlyStoppingCallback(early_stopping_patience=self.config.get("early_stopping_steps")))
        if self.config.get("use_swanlab"):
            from .swanlab_logging import swanlab_callback

            callbacks.append(swanlab_callback(self.config))
        return callbacks


def prepare_stage_data(
    ctx: StageContext, args: "Seq2SeqTrainingArguments", stage: str | None = None, do_generate: bool = False
) -> "PreparedData":
    """Tokenizer, template and data: lazy when the config allows it (the main process then starts encoding the cache
    in the background), else encoded first, by the main process first so the others find its cache."""
    from lmf_engine.data.lazy import prepare_training_data
    from lmf_engine.model.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(ctx.config)
    stage = stage or ctx.config.finetuning.stage
    with args.main_process_first(desc="encoding the datasets"):
        data, eager_reason = prepare_training_data(
            ctx.config, tokenizer=tokenizer, stage=stage, do_generate=do_generate, report=ctx.report
        )
    if data.lazy is not None and args.local_process_index == 0:
        ctx.background = data.lazy.start_background()
    ctx.report(data_message(data, eager_reason))
    return data


def data_message(data: "PreparedData", eager_reason: str | None) -> str:
    """One line on how the training data was prepared, for the run's events."""
    if data.lazy is not None:
        rows = data.lazy.total
        return f"lazy preprocessing: training starts now; {rows:,} rows are encoded as the trainer reads them"
    where = "read from the cache" if data.from_cache else "encoded before training"
    message = f"data {where}" + (f" (lazy preprocessing not used: {eager_reason})" if eager_reason else "")
    return message + (f"; {data.bad_rows}" if data.bad_rows.count else "")


def collator_for(data: "PreparedData", collator: Any) -> Any:
    """The stage's collator, made to leave out lazy rows without a training row (bad or dropped)."""
    if data.lazy is None:
        return collator
    from lmf_engine.data.lazy_rows import SkipDropped

    return SkipDropped(collator)


def media_collation(config: "Config", data: "PreparedData", model: Any) -> Any:
    """The media half of the collator for a multimodal template (None for a text template)."""
    if data.template.multimodal is None:
        return None
    from lmf_engine.data.pipeline import media_encoder

    from .media_batch import MediaCollation

    return MediaCollation(media_encoder(config, data.template), data.tokenizer, model)


def trainer_datasets(data: "PreparedData") -> dict[str, Any]:
    """``train_dataset`` / ``eval_dataset`` keyword arguments of a trainer."""
    return {"train_dataset": data.train, "eval_dataset": data.eval}


def label_pad_token_id(config: "Config", tokenizer: Any) -> int:
    """The label of padding: ignored by the loss (``ignore_pad_token_for_loss``, the default) or the pad token."""
    from lmf_engine.data.processors import IGNORE_INDEX

    return IGNORE_INDEX if config.get("ignore_pad_token_for_loss") else tokenizer.pad_token_id


def check_eval_data(config: "Config", has_eval: bool) -> None:
    """Evaluation and prediction need evaluation data (``eval_dataset`` or ``val_size``)."""
    wanted = [key for key in ("do_eval", "do_predict") if config.get(key)]
    if wanted and not has_eval:
        raise ValueError(f"{'/'.join(wanted)}: no evaluation data; set eval_dataset or val_size")


def effective_tokens_per_second(dataset: Any, metrics: dict[str, float], pair: bool = False) -> float:
    """Non-padding tokens trained per second (``include_effective_tokens_per_second``), per process."""
    import torch.distributed as dist

    if hasattr(dataset, "iter_encoded"):  # lazy rows: from the cache where done, else encoded now
        dataset = dataset.iter_encoded()
    if pair:
        tokens = sum(len(row["chosen_input_ids"]) + len(row["rejected_input_ids"]) for row in dataset)
    else:
        tokens = sum(len(row["input_ids"]) for row in dataset)
    result = tokens * metrics["epoch"] / metrics["train_runtime"]
    return result / dist.get_world_size() if dist.is_initialized() else result


def smooth(values: list[float]) -> list[float]:
    """TensorBoard's exponential moving average, with LLaMA-Factory's weight."""
    if not values:
        return []
    weight = 1.8 * (1 / (1 + math.exp(-0.05 * len(values))) - 0.5)
    last, out = values[0], []
    for value in values:
        last = last * weight + (1 - weight) * value
        out.append(last)
    return out


def plot_loss(run_dir: Path, keys: list[str]) -> list[Path]:
    """``training_<key>.png`` for each key logged in trainer_state.json (needs matplotlib; skipped without it)."""
    if not installed("matplotlib"):
        log.warning("plot_loss: matplotlib is not installed; no loss plot is drawn (pip install matplotlib)")
        return []
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    history = json.loads((run_dir / "trainer_state.json").read_text(encoding="utf-8"))["log_history"]
    written = []
    for key in keys:
        points = [(entry["step"], entry[key]) for entry in history if key in entry]
        if not points:
            continue
        steps, values = zip(*points, strict=True)
        plt.figure()
        plt.plot(steps, values, color="#1f77b4", alpha=0.4, label="original")
        plt.plot(steps, smooth(list(values)), color="#1f77b4", label="smoothed")
        plt.title(f"training {key} of {run_dir}")
        plt.xlabel("step")
        plt.ylabel(key)
        plt.legend()
        path = run_dir / "training_{}.png".format(key.replace("/", "_"))
        plt.savefig(path, format="png", dpi=100)
        plt.close("all")
        written.append(path)
    return written


def eval_keys(data: "PreparedData", names: tuple[str, ...]) -> list[str]:
    """Plot keys of the evaluation metrics ``names`` (per eval dataset with ``eval_on_each_dataset``)."""
    if isinstance(data.eval, dict):
        return [f"eval_{dataset}_{name}" for dataset in data.eval for name in names]
    return [f"eval_{name}" for name in names]


def train_and_save(
    ctx: StageContext, trainer: Any, plot_keys: list[str], tokens_dataset: Any = None, pair: bool = False
) -> bool:
    """Train (resuming when asked), then save as LLaMA-Factory does. False when a stop came: in the loop it ended
    training at a step boundary with a checkpoint; during the final save it lets the save finish.

    ``tokens_dataset`` (with ``pair`` for chosen/rejected rows) is what effective tokens per second count."""
    result = trainer.train(resume_from_checkpoint=ctx.resume_from)
    if ctx.stop.requested:
        return False
    trainer.save_model()
    metrics = result.metrics
    if ctx.config.get("include_effective_tokens_per_second") and tokens_dataset is not None:
        metrics["effective_tokens_per_sec"] = effective_tokens_per_second(tokens_dataset, metrics, pair)
    trainer.log_metrics("train", metrics)
    trainer.save_metrics("train", metrics)
    trainer.save_state()
    if trainer.is_world_process_zero() and ctx.config.get("plot_loss"):
        plot_loss(ctx.run_dir, ["loss", *plot_keys])
    ctx.stop.leave_loop()
    return not ctx.stop.requested


def save_eval_metrics(trainer: Any, metrics: dict[str, float], split: str = "eval") -> None:
    """Log and save ``<split>_results.json`` (and merge into all_results.json)."""
    trainer.log_metrics(split, metrics)
    trainer.save_metrics(split, metrics)
