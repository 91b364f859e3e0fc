"""Saving and resuming a model with a value head (stages rm and ppo), in LLaMA-Factory's file layout.

A save holds what the causal LM alone would save (a LoRA adapter, or the full/freeze model's weights and config)
plus ``value_head.safetensors`` with ``v_head.summary.weight`` / ``v_head.summary.bias`` — what LLaMA-Factory's
``fix_valuehead_checkpoint`` leaves. Resuming loads both back. Imported only to train (needs torch).
"""

import os
from typing import Any

import torch

from lmf_engine.model.valuehead import VALUE_HEAD_SAFE, load_value_head

WRAPPER_PREFIX = "pretrained_model."


def save_value_head_model(
    model: Any, output_dir: str, state_dict: dict[str, torch.Tensor] | None = None, is_main_process: bool = True
) -> None:
    """Save ``model`` (a ValueHeadModel) to ``output_dir``; ``state_dict`` is the wrapper's gathered state
    (DeepSpeed ZeRO-3), or None to read the weights from the model."""
    from safetensors.torch import save_file

    if state_dict is None:
        decoder_state = None
        head = model.value_head_state_dict()
    else:
        head = {key: value for key, value in state_dict.items() if key.startswith("v_head.")}
        decoder_state = {
            key.removeprefix(WRAPPER_PREFIX): value
            for key, value in state_dict.items()
            if not key.startswith("v_head.")
        }
    model.pretrained_model.save_pretrained(output_dir, state_dict=decoder_state, is_main_process=is_main_process)
    if is_main_process:
        head = {key: value.detach().to("cpu").contiguous() for key, value in head.items()}
        save_file(head, os.path.join(output_dir, VALUE_HEAD_SAFE), metadata={"format": "pt"})


def _load_decoder(model: Any, folder: str) -> None:
    from safetensors.torch import load_file
    from transformers.modeling_utils import load_sharded_checkpoint

    if os.path.isfile(os.path.join(folder, "model.safetensors.index.json")):
        load_sharded_checkpoint(model, folder, strict=False)
        return
    path = os.path.join(folder, "model.safetensors")
    if not os.path.isfile(path):
        raise ValueError(f"Can't find a valid checkpoint at {folder}")
    model.load_state_dict(load_file(path), strict=False)


def load_value_head_model(model: Any, folder: str) -> None:
    """Load a save of :func:`save_value_head_model` into ``model`` (the trained adapter, or the weights)."""
    inner = model.pretrained_model
    if hasattr(inner, "peft_config"):
        inner.load_adapter(folder, inner.active_adapter, is_trainable=True)
        inner.set_adapter(inner.active_adapter)
    else:
        _load_decoder(inner, folder)
    head = load_value_head(folder)
    if head is None:
        raise ValueError(f"{folder} holds no {VALUE_HEAD_SAFE}: it is not a checkpoint of this stage")
    model.load_state_dict(head, strict=False)


class ValueHeadSavingMixin:
    """Trainer mixin: save and resume a ValueHeadModel in the layout above (mix in before the trainer class)."""

    def _save(self, output_dir: str | None = None, state_dict: dict[str, torch.Tensor] | None = None) -> None:
        from transformers.trainer import TRAINING_ARGS_NAME

        output_dir = output_dir if output_dir is not None else self.args.output_dir
        if self.args.should_save:
            os.makedirs(output_dir, exist_ok=True)
        model = self.accelerator.unwrap_model(self.model, keep_torch_compile=False)
        save_value_head_model(model, output_dir, state_dict, is_main_process=self.args.should_save)
        if not self.args.should_save:
            return
        if self.processing_class is not None:
            self.processing_class.save_pretrained(output_dir)
        torch.save(self.args, os.path.join(output_dir, TRAINING_ARGS_NAME))

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model: Any = None) -> None:
        target = self.accelerator.unwrap_model(model if model is not None else self.model)
        load_value_head_model(target, resume_from_checkpoint)
