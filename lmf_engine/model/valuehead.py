"""A causal LM with a scalar value head, for reward models and PPO (``load_model(..., add_valuehead=True)``).

It behaves as trl's former ``AutoModelForCausalLMWithValueHead`` that LLaMA-Factory 0.9.5 uses (trl 1.x no longer
ships it): ``forward`` returns ``(lm_logits, loss, values)``, the head is ``v_head.summary`` (a dropout and a
``Linear(hidden_size, 1)``), and a saved head is ``value_head.safetensors`` (or ``value_head.bin``) holding
``v_head.summary.weight`` / ``v_head.summary.bias``. Imported only where a model is built (it needs torch).
"""

import logging
import os
from typing import Any

import torch

log = logging.getLogger(__name__)

VALUE_HEAD_SAFE = "value_head.safetensors"
VALUE_HEAD_BIN = "value_head.bin"


class ValueHead(torch.nn.Module):
    """Dropout, then one linear layer from the last hidden state to a scalar."""

    def __init__(self, hidden_size: int, dropout: float) -> None:
        super().__init__()
        self.dropout = torch.nn.Dropout(dropout) if dropout else torch.nn.Identity()
        self.summary = torch.nn.Linear(hidden_size, 1)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        output = self.dropout(hidden_states)
        if output.dtype != self.summary.weight.dtype:
            output = output.to(self.summary.weight.dtype)
        return self.summary(output)


class ValueHeadModel(torch.nn.Module):
    """``pretrained_model`` (a transformers or PEFT causal LM) plus ``v_head``."""

    def __init__(self, pretrained_model: Any) -> None:
        super().__init__()
        self.pretrained_model = pretrained_model
        config = pretrained_model.config
        text_config = getattr(config, "text_config", None) or config
        dropout = getattr(config, "summary_dropout_prob", None)
        self.v_head = ValueHead(text_config.hidden_size, 0.1 if dropout is None else dropout)
        self.is_peft_model = hasattr(pretrained_model, "peft_config")

    @property
    def config(self) -> Any:
        return self.pretrained_model.config

    def forward(
        self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None, **kwargs: Any
    ) -> tuple[torch.Tensor, Any, torch.Tensor]:
        kwargs["output_hidden_states"] = True
        kwargs.pop("return_dict", None)
        output = self.pretrained_model(input_ids=input_ids, attention_mask=attention_mask, return_dict=True, **kwargs)
        last_hidden = output.hidden_states[-1]
        if last_hidden.device != self.v_head.summary.weight.device:
            last_hidden = last_hidden.to(self.v_head.summary.weight.device)
        values = self.v_head(last_hidden).squeeze(-1)
        logits = output.logits
        if logits.dtype != torch.float32:
            logits = logits.float()
        return logits, output.loss, values

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        return self.pretrained_model.generate(*args, **kwargs)

    def get_input_embeddings(self) -> Any:
        return self.pretrained_model.get_input_embeddings()

    def get_output_embeddings(self) -> Any:
        return self.pretrained_model.get_output_embeddings()

    def gradient_checkpointing_enable(self, *args: Any, **kwargs: Any) -> None:
        self.pretrained_model.gradient_checkpointing_enable(*args, **kwargs)

    def value_head_state_dict(self) -> dict[str, torch.Tensor]:
        """The head's weights under the keys LLaMA-Factory saves in ``value_head.safetensors``."""
        return {f"v_head.{key}": value for key, value in self.v_head.state_dict().items()}


def load_value_head(path: str) -> dict[str, torch.Tensor] | None:
    """A saved value head from a folder (``value_head.safetensors`` or ``.bin``), or None when there is none."""
    safe = os.path.join(path, VALUE_HEAD_SAFE)
    if os.path.isfile(safe):
        from safetensors.torch import load_file

        return {k: v for k, v in load_file(safe).items() if k.startswith("v_head.")}
    binary = os.path.join(path, VALUE_HEAD_BIN)
    if os.path.isfile(binary):
        state = torch.load(binary, map_location="cpu", weights_only=True)
        return {k: v for k, v in state.items() if k.startswith("v_head.")}
    return None


def add_value_head(model: Any, head_path: str) -> ValueHeadModel:
    """Wrap ``model`` and load a saved head from ``head_path`` when it has one."""
    wrapped = ValueHeadModel(model)
    params = load_value_head(head_path) if os.path.isdir(head_path) else None
    if params is not None:
        wrapped.load_state_dict(params, strict=False)
        log.info("Loaded the value head from %s", head_path)
    wrapped.v_head.to(model.get_output_embeddings().weight.device)
    return wrapped
