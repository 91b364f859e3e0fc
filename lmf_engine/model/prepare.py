"""Changes to a loaded model before adapters go on, as LLaMA-Factory 0.9.5's ``patch_model`` makes them.

Generation config fix-up, embedding resizing for added tokens (new rows: mean of the old ones plus noise), and
training preparation: float32 layer norms, gradient checkpointing of the layers that train, float32 lm_head output.
"""

import logging
import math
from functools import partial, wraps
from typing import TYPE_CHECKING, Any

from .errors import ModelLoadError

if TYPE_CHECKING:
    from lmf_engine.config import Config

log = logging.getLogger(__name__)

LAYERNORM_NAMES = ("norm", "ln_f", "ln_attn", "ln_mlp", "ln_1", "ln_2", "ln1", "ln2")


def fix_generation_config(model: Any) -> None:
    """Turn sampling on when the saved generation config sets sampling knobs but not ``do_sample``."""
    gen = getattr(model, "generation_config", None)
    if gen is None or gen.do_sample:
        return
    knobs = (gen.temperature, gen.top_p, gen.typical_p)
    if any(value is not None and value != 1.0 for value in knobs):
        gen.do_sample = True


def resize_embeddings(model: Any, tokenizer: Any) -> bool:
    """Grow the embeddings (to a multiple of 64) when the tokenizer has more tokens; True when it did."""
    import torch

    old = model.get_input_embeddings().weight.size(0)
    if len(tokenizer) <= old:
        return False
    if getattr(model, "quantization_method", None):
        raise ModelLoadError("resize_vocab: the embeddings of a quantized model cannot be resized")
    if not isinstance(model.get_output_embeddings(), torch.nn.Linear):
        raise ModelLoadError("resize_vocab: this model's output layer cannot be resized")
    model.resize_token_embeddings(len(tokenizer), pad_to_multiple_of=64)
    new = model.get_input_embeddings().weight.size(0)
    added = new - old
    with torch.no_grad():
        weights = [model.get_input_embeddings().weight]
        if not model.config.tie_word_embeddings:
            weights.append(model.get_output_embeddings().weight)
        for weight in weights:
            mean = weight[:-added].mean(dim=0, keepdim=True)
            noise = torch.empty_like(weight[-added:]).normal_(mean=0, std=1.0 / math.sqrt(weight.size(1)))
            weight[-added:] = mean + noise
    model.config.vocab_size = new
    log.info("Resized token embeddings from %d to %d.", old, new)
    return True


def _module_of(func: Any) -> Any:
    """The layer a checkpointed call runs: a bound method, or a partial of one or of ``forward(layer, ...)``."""
    if isinstance(func, partial):
        inner = func.func
        return inner.__self__ if hasattr(inner, "__self__") else func.args[0]
    return func.__self__


def _checkpoint_trainable_only(checkpoint: Any) -> Any:
    """Wrap ``checkpoint`` so layers without trainable parameters run plainly (nothing to recompute for them)."""
    import torch

    @wraps(checkpoint)
    def run(func: Any, *args: Any, **kwargs: Any) -> Any:
        module = _module_of(func)
        if not any(param.requires_grad for param in module.parameters()):
            return func(*args, **kwargs)
        for arg in args:
            if torch.is_tensor(arg) and torch.is_floating_point(arg):
                arg.requires_grad_(True)
                break
        return checkpoint(func, *args, **kwargs)

    return run


def _fp32_output(module: Any, args: Any, output: Any) -> Any:
    import torch

    return output.to(torch.float32)


def prepare_for_training(model: Any, config: "Config") -> None:
    """``upcast_layernorm``, gradient checkpointing (unless ``disable_gradient_checkpointing``), lm_head upcast."""
    import torch
    from torch.utils.checkpoint import checkpoint

    if config.get("upcast_layernorm"):
        for name, param in model.named_parameters():
            if param.ndim == 1 and any(ln in name for ln in LAYERNORM_NAMES):
                param.data = param.data.to(torch.float32)
    if not config.get("disable_gradient_checkpointing"):
        if not getattr(model, "supports_gradient_checkpointing", False):
            log.warning("This model does not support gradient checkpointing; training without it.")
        else:
            func = _checkpoint_trainable_only(partial(checkpoint, use_reentrant=config.get("use_reentrant_gc")))
            model._set_gradient_checkpointing(enable=True, gradient_checkpointing_func=func)
            model.enable_input_require_grads()
            model.config.use_cache = False
            log.info("Gradient checkpointing enabled.")
    if config.get("upcast_lmhead_output"):
        head = model.get_output_embeddings()
        if isinstance(head, torch.nn.Linear) and head.weight.dtype != torch.float32:
            head.register_forward_hook(_fp32_output)
