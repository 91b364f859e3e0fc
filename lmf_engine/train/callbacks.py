"""Trainer callbacks: the run's event stream and LLaMA-Factory's ``trainer_log.jsonl``, stop at a step boundary,
and PiSSA conversion.

Only the main process (world rank 0) writes files; every process takes part in the stop decision, so all ranks
leave the loop at the same step.
"""

import json
import math
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback

from lmf_engine.model.processor_files import copy_processor_files
from lmf_engine.runs.record import TRAINER_LOG_FILE

from . import gc_phases
from .signals import StopRequest

if TYPE_CHECKING:
    from transformers import TrainerControl, TrainerState, TrainingArguments

    from lmf_engine.runs.events import EventWriter

LOG_KEYS = {"learning_rate": "lr", "rewards/accuracies": "accuracy"}
"""Trainer log keys renamed in trainer_log.jsonl, as LLaMA-Factory names them."""


def _number(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def trim_trainer_log(run_dir: Path, last_step: int) -> None:
    """Drop trainer_log.jsonl lines after ``last_step`` (a resumed run writes them again)."""
    path = run_dir / TRAINER_LOG_FILE
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            if json.loads(line).get("current_steps", 0) > last_step:
                continue
        except ValueError:
            continue
        kept.append(line + "\n")
    path.write_text("".join(kept), encoding="utf-8")


class RunCallback(TrainerCallback):
    """Writes progress, logs, evaluations and checkpoints to events.jsonl and trainer_log.jsonl; honours stops."""

    def __init__(self, run_dir: Path, events: "EventWriter | None", stop: StopRequest) -> None:
        self.run_dir = run_dir
        self.events = events
        self.stop = stop
        self.start_time = time.time()
        self.start_step = 0
        self.max_steps = 0
        self.training = False
        self.predict_steps = 0
        self.predict_total: int | None = None
        """Batches of a prediction made in several parts (``predict.py``), for its progress; else the loader's."""

    def _emit(self, kind: str, **fields: Any) -> None:
        if self.events is not None:
            self.events.emit(kind, **{key: value for key, value in fields.items() if value is not None})

    def _write_log(self, line: dict[str, Any]) -> None:
        if self.events is None:
            return
        with open(self.run_dir / TRAINER_LOG_FILE, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({k: v for k, v in line.items() if v is not None}) + "\n")

    def _timing(self, step: int, total: int) -> tuple[float, float]:
        elapsed = time.time() - self.start_time
        done = step - self.start_step
        remaining = (total - step) * elapsed / done if done > 0 else 0.0
        return elapsed, remaining

    def _progress(self, state: "TrainerState") -> dict[str, Any]:
        elapsed, remaining = self._timing(state.global_step, self.max_steps)
        fields: dict[str, Any] = {
            "current_steps": state.global_step,
            "total_steps": self.max_steps,
            "epoch": state.epoch,
            "percentage": round(state.global_step / self.max_steps * 100, 2) if self.max_steps else 100,
            "elapsed_time": str(timedelta(seconds=int(elapsed))),
            "remaining_time": str(timedelta(seconds=int(remaining))),
        }
        if state.num_input_tokens_seen:
            fields["throughput"] = round(state.num_input_tokens_seen / max(elapsed, 1e-6), 2)
            fields["total_tokens"] = state.num_input_tokens_seen
        return fields

    def on_train_begin(
        self, args: "TrainingArguments", state: "TrainerState", control: "TrainerControl", **kwargs: Any
    ) -> None:
        self.training = True
        gc_phases.end_setup()
        self.start_time = time.time()
        self.start_step = state.global_step
        self.max_steps = state.max_steps
        self.stop.enter_loop()
        self._emit("progress", step=state.global_step, total_steps=state.max_steps, epoch=state.epoch, phase="train")

    def _stop_everywhere(self, args: "TrainingArguments") -> bool:
        import torch
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return self.stop.requested
        flag = torch.tensor([1.0 if self.stop.requested else 0.0], device=args.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    def on_step_end(
        self, args: "TrainingArguments", state: "TrainerState", control: "TrainerControl", **kwargs: Any
    ) -> None:
        if self._stop_everywhere(args):
            self.stop.requested = True
            control.should_save = True
            control.should_training_stop = True
        progress = self._progress(state)
        self._emit(
            "progress",
            step=state.global_step,
            total_steps=self.max_steps,
            epoch=state.epoch,
            percentage=progress["percentage"],
            elapsed_s=round(time.time() - self.start_time, 3),
            remaining_s=self._timing(state.global_step, self.max_steps)[1],
            throughput=progress.get("throughput"),
            tokens=state.num_input_tokens_seen or None,
            phase="train",
        )

    def on_log(
        self,
        args: "TrainingArguments",
        state: "TrainerState",
        control: "TrainerControl",
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if self.events is None:
            return
        last = state.log_history[-1] if state.log_history else {}
        line = {
            **self._progress(state),
            "loss": last.get("loss"),
            "eval_loss": last.get("eval_loss"),
            "predict_loss": last.get("predict_loss"),
            "reward": last.get("reward"),
            "accuracy": last.get("rewards/accuracies"),
            "lr": last.get("learning_rate"),
            "epoch": last.get("epoch"),
        }
        self._write_log(line)
        fields = {LOG_KEYS.get(k, k): _number(v) for k, v in (logs or {}).items()}
        kind = "eval" if any(key.startswith("eval_") for key in fields) else "log"
        self._emit(kind, step=state.global_step, **fields)

    def on_save(
        self, args: "TrainingArguments", state: "TrainerState", control: "TrainerControl", **kwargs: Any
    ) -> None:
        name = f"checkpoint-{state.global_step}"
        if (self.run_dir / name).exists():
            self._emit("checkpoint", step=state.global_step, path=name)

    def on_prediction_step(
        self, args: "TrainingArguments", state: "TrainerState", control: "TrainerControl", **kwargs: Any
    ) -> None:
        if self.training or self.events is None:
            return
        loader = kwargs.get("eval_dataloader")
        total = self.predict_total or (len(loader) if loader is not None and hasattr(loader, "__len__") else 0)
        if self.predict_steps == 0:
            self.start_time = time.time()
        self.predict_steps += 1
        if total and (self.predict_steps % 5 == 0 or self.predict_steps == total):
            elapsed, remaining = self._timing(self.predict_steps, total)
            percentage = round(self.predict_steps / total * 100, 2)
            self._write_log(
                {
                    "current_steps": self.predict_steps,
                    "total_steps": total,
                    "percentage": percentage,
                    "elapsed_time": str(timedelta(seconds=int(elapsed))),
                    "remaining_time": str(timedelta(seconds=int(remaining))),
                }
            )
            self._emit("progress", step=self.predict_steps, total_steps=total, percentage=percentage, phase="predict")


class ProcessorFilesCallback(TrainerCallback):
    """A multimodal model's processor files go with every checkpoint and the final output, as LLaMA-Factory's
    ``SaveProcessorCallback`` saves them, so each loads with its image processor."""

    def __init__(self, model_dir: str) -> None:
        self.model_dir = model_dir

    def on_save(
        self, args: "TrainingArguments", state: "TrainerState", control: "TrainerControl", **kwargs: Any
    ) -> None:
        if state.is_world_process_zero:
            copy_processor_files(self.model_dir, Path(args.output_dir) / f"checkpoint-{state.global_step}")

    def on_train_end(
        self, args: "TrainingArguments", state: "TrainerState", control: "TrainerControl", **kwargs: Any
    ) -> None:
        if state.is_world_process_zero:
            copy_processor_files(self.model_dir, args.output_dir)


class PissaConvertCallback(TrainerCallback):
    """``pissa_convert``: save the initial PiSSA adapter, and at the end a converted plain LoRA adapter too."""

    def on_train_begin(
        self, args: "TrainingArguments", state: "TrainerState", control: "TrainerControl", **kwargs: Any
    ) -> None:
        model = kwargs.get("model")
        if args.should_save and hasattr(model, "peft_config"):
            peft_config = model.peft_config["default"]
            init = peft_config.init_lora_weights
            peft_config.init_lora_weights = True
            model.save_pretrained(os.path.join(args.output_dir, "pissa_init"))
            peft_config.init_lora_weights = init

    def on_train_end(
        self, args: "TrainingArguments", state: "TrainerState", control: "TrainerControl", **kwargs: Any
    ) -> None:
        model = kwargs.get("model")
        if not (args.should_save and hasattr(model, "peft_config")):
            return
        peft_config = model.peft_config["default"]
        init = peft_config.init_lora_weights
        backup = os.path.join(args.output_dir, "pissa_backup")
        peft_config.init_lora_weights = True
        model.save_pretrained(backup)
        peft_config.init_lora_weights = init
        model.save_pretrained(
            os.path.join(args.output_dir, "pissa_converted"),
            path_initial_model_for_weight_conversion=os.path.join(args.output_dir, "pissa_init"),
        )
        model.load_adapter(backup, "default", is_trainable=True)
        model.set_adapter("default")
        peft_config.init_lora_weights = init
