"""transformers ``(Seq2Seq)TrainingArguments`` from a config's training group, and the checkpoint to resume from.

The run folder is the output_dir. LLaMA-Factory's post-processing applies (generation length from cutoff_len, label
names for LoRA, ``ddp_find_unused_parameters`` off for distributed LoRA, ``remove_unused_columns`` off). On a machine
without a GPU (or with ``use_cpu``) the run uses the CPU in float32: bf16/fp16 are turned off with a warning.
"""

import dataclasses
import json
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmf_engine.model.settings import uses_accelerator

from .swanlab_logging import integrations

if TYPE_CHECKING:
    from transformers import Seq2SeqTrainingArguments

    from lmf_engine.config import Config

log = logging.getLogger(__name__)

NOT_ARGUMENTS = {"overwrite_output_dir", "warmup_ratio", "logging_dir", "num_processes", "accelerate_config"}
"""Training keys that are not TrainingArguments fields (handled here or by the launcher)."""
JSON_KEYS = ("lr_scheduler_kwargs", "gradient_checkpointing_kwargs")
FINAL_OUTPUTS = ("adapter_model.safetensors", "adapter_model.bin", "model.safetensors", "pytorch_model.bin")


class ResumeError(ValueError):
    """The run cannot resume, or would overwrite an earlier run's outputs."""


def _parse_json(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise ValueError(f"{key}: {value!r} is not valid JSON") from None


def fsdp_config_with_layer(fsdp_config: str | dict[str, Any] | None, layer: str) -> str | dict[str, Any]:
    """``fsdp_config`` with ``transformer_layer_cls_to_wrap`` set from the top-level key (a file path is read)."""
    if isinstance(fsdp_config, str):
        try:
            fsdp_config = json.loads(Path(fsdp_config).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"fsdp_config: cannot read {fsdp_config!r} as JSON ({exc})") from None
    merged = dict(fsdp_config or {})
    merged.setdefault("transformer_layer_cls_to_wrap", [name.strip() for name in layer.split(",") if name.strip()])
    return merged


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def training_arguments(config: "Config", run_dir: Path, **overrides: Any) -> "Seq2SeqTrainingArguments":
    """Seq2SeqTrainingArguments (a TrainingArguments subclass every trainer accepts) for the run folder."""
    from transformers import Seq2SeqTrainingArguments

    fields = {f.name for f in dataclasses.fields(Seq2SeqTrainingArguments) if f.init}
    training = config.training
    values = {
        f.name: getattr(training, f.name)
        for f in dataclasses.fields(training)
        if f.name in fields and f.name not in NOT_ARGUMENTS
    }
    for key in JSON_KEYS:
        values[key] = _parse_json(key, values.get(key))
    if training.fsdp_transformer_layer_cls_to_wrap:
        values["fsdp_config"] = fsdp_config_with_layer(
            values.get("fsdp_config"), training.fsdp_transformer_layer_cls_to_wrap
        )
    values["output_dir"] = str(run_dir)
    if training.warmup_ratio and not training.warmup_steps:
        values["warmup_steps"] = training.warmup_ratio
    if training.logging_dir:
        os.environ.setdefault("TENSORBOARD_LOGGING_DIR", training.logging_dir)
    if not uses_accelerator(config):
        if training.bf16 or training.fp16 or config.get("pure_bf16"):
            log.warning("No GPU in use: bf16/fp16 are turned off and the run trains in float32 on the CPU.")
        values.update(use_cpu=True, bf16=False, fp16=False, tf32=None)
    values["generation_max_length"] = training.generation_max_length or config.get("cutoff_len")
    values["generation_num_beams"] = config.get("eval_num_beams") or training.generation_num_beams
    values["remove_unused_columns"] = False
    if config.get("use_swanlab"):
        values["report_to"] = integrations(config) or "none"
    if config.get("finetuning_type") == "lora":
        values["label_names"] = ["labels"]
        if world_size() > 1 and training.ddp_find_unused_parameters is None:
            values["ddp_find_unused_parameters"] = False
    values.update(overrides)
    return Seq2SeqTrainingArguments(**values)


def _checkpoint_number(path: Path) -> int:
    match = re.fullmatch(r"checkpoint-(\d+)", path.name)
    return int(match.group(1)) if match else -1


def newest_checkpoint(run_dir: Path) -> Path | None:
    """The ``checkpoint-N`` folder with the largest N that holds a trainer state, or None."""
    found = [
        p for p in run_dir.glob("checkpoint-*") if _checkpoint_number(p) >= 0 and (p / "trainer_state.json").exists()
    ]
    return max(found, key=_checkpoint_number) if found else None


def resume_checkpoint(config: "Config", run_dir: Path, resume: bool) -> str | None:
    """Where training resumes from, as LLaMA-Factory decides it.

    ``--resume`` (or ``resume_from_checkpoint``) names it; otherwise a run folder with checkpoints resumes from the
    newest unless ``overwrite_output_dir``, and a folder holding a finished model without checkpoints is an error.
    """
    explicit = config.get("resume_from_checkpoint")
    if explicit:
        if not Path(explicit).is_dir():
            raise ResumeError(f"resume_from_checkpoint: {explicit!r} is not a checkpoint folder")
        return explicit
    newest = newest_checkpoint(run_dir)
    if resume and not config.get("do_train"):
        return None  # nothing to train: a prediction continues from its partial file
    if resume:
        if newest is None:
            raise ResumeError(f"nothing to resume: {run_dir} holds no checkpoint-N folder")
        return str(newest)
    fixed_head = config.get("stage") in ("rm", "ppo") and config.get("finetuning_type") in ("full", "freeze")
    if not config.get("do_train") or config.get("overwrite_output_dir") or fixed_head:
        return None
    if newest is None and any((run_dir / name).exists() for name in FINAL_OUTPUTS):
        raise ResumeError(
            f"output_dir: {run_dir} already holds a trained model; set overwrite_output_dir: true or use a new folder"
        )
    if newest is not None:
        log.info("Resuming training from %s (set overwrite_output_dir to start afresh).", newest)
    return str(newest) if newest else None
