"""Where PPO's rewards come from (``reward_model_type``), as LLaMA-Factory's ``create_reward_model`` sets it up.

- ``lora``: ``reward_model`` is an rm run's LoRA adapter; it is loaded into the policy as a second adapter named
  ``reward``, with its value head kept in buffers, and swapped in to score.
- ``full``: ``reward_model`` (+ ``reward_model_adapters``) is a separate frozen model with a value head.
- ``api``: ``reward_model`` is the URL of a server answering ``{"model", "messages"}`` with ``{"scores": [...]}``.

Imported only to train (needs torch).
"""

import json
import logging
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

import torch

from lmf_engine.model.adapters import resolve_adapter
from lmf_engine.model.errors import ModelLoadError
from lmf_engine.model.valuehead import load_value_head

from .preference import derived_config, load_frozen_model

if TYPE_CHECKING:
    from lmf_engine.config import Config

log = logging.getLogger(__name__)

REWARD_ADAPTER = "reward"


def load_lora_reward(model: Any, path: str) -> None:
    """Load the rm adapter at ``path`` into the policy ``model`` (a ValueHeadModel over a PeftModel)."""
    folder = resolve_adapter(path)
    head = load_value_head(folder)
    if head is None:
        raise ModelLoadError(
            f"reward_model: {path!r} holds no value_head.safetensors; point it at the output of an rm run"
        )
    try:
        model.pretrained_model.load_adapter(folder, REWARD_ADAPTER)
    except (ValueError, OSError, RuntimeError) as exc:
        raise ModelLoadError(f"reward_model: cannot load the reward adapter {folder!r}: {exc}") from None
    model.pretrained_model.set_adapter("default")
    for name, param in model.named_parameters():
        if "default" in name:
            param.data = param.data.to(torch.float32)
    model.register_buffer("reward_head_weight", head["v_head.summary.weight"], persistent=False)
    model.register_buffer("reward_head_bias", head["v_head.summary.bias"], persistent=False)
    model.register_buffer("default_head_weight", torch.zeros_like(head["v_head.summary.weight"]), persistent=False)
    model.register_buffer("default_head_bias", torch.zeros_like(head["v_head.summary.bias"]), persistent=False)
    log.info("Loaded adapter weights of reward model from %s", folder)


def create_reward_model(model: Any, config: "Config") -> Any:
    """The reward model: None for ``lora`` (it lives in ``model``), the URL for ``api``, else a frozen model."""
    kind, path = config.get("reward_model_type"), config.get("reward_model")
    if kind == "api":
        if not str(path).startswith(("http://", "https://")):
            raise ModelLoadError(f"reward_model: with reward_model_type: api it must be a full URL, not {path!r}")
        log.info("Use reward server %s", path)
        return path
    if kind == "lora":
        load_lora_reward(model, path)
        return None
    reward_config = derived_config(
        config, path, config.get("reward_model_adapters"), config.get("reward_model_quantization_bit")
    )
    reward = load_frozen_model(reward_config, add_valuehead=True)
    log.info("Loaded full weights of reward model from %s", path)
    return reward


def swap_reward_head(model: Any, target: str) -> None:
    """Make ``target`` (``reward`` or ``default``) the active adapter and value head of the unwrapped model."""
    head = model.v_head.summary
    model.pretrained_model.set_adapter(target, inference_mode=target == REWARD_ADAPTER)
    if target == REWARD_ADAPTER:
        model.default_head_weight = head.weight.data.detach().clone()
        model.default_head_bias = head.bias.data.detach().clone()
    device = head.weight.device
    head.weight.data = getattr(model, f"{target}_head_weight").detach().clone().to(device)
    head.bias.data = getattr(model, f"{target}_head_bias").detach().clone().to(device)


def rewards_from_server(url: str, messages: list[str], timeout: float = 300) -> torch.Tensor:
    """POST the decoded query+response texts; the server's ``scores``."""
    request = urllib.request.Request(
        url,
        data=json.dumps({"model": "model", "messages": messages}).encode("utf-8"),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            scores = json.loads(response.read().decode("utf-8"))["scores"]
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        raise RuntimeError(f"reward_model: the reward server {url} gave no scores: {exc}") from None
    return torch.tensor(scores, dtype=torch.float32)
