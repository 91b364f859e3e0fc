"""What ``from_pretrained`` is given: dtype, attention, RoPE scaling, quantization and placement.

The choices follow LLaMA-Factory 0.9.5's ``patch_config`` and ``model_utils`` (attention, rope, quantization), with
two departures: weights load in the compute dtype (float32 on a CPU, where half precision is slow or unsupported),
and a setting that cannot work here (FlashAttention or bitsandbytes missing, quantization without a GPU) is a
:class:`ModelLoadError` naming the key instead of a warning.
"""

import logging
import math
import os
from typing import TYPE_CHECKING, Any

from lmf_engine.util.packages import installed

from .errors import ModelLoadError

if TYPE_CHECKING:
    import torch

    from lmf_engine.config import Config

log = logging.getLogger(__name__)

ATTENTION = {"disabled": "eager", "sdpa": "sdpa", "fa2": "flash_attention_2", "fa3": "flash_attention_3"}
"""``flash_attn`` values and the ``attn_implementation`` each asks transformers for (``auto``: its own default)."""


def uses_accelerator(config: "Config") -> bool:
    """Whether the model goes on a CUDA GPU: one is present and ``use_cpu`` is off."""
    import torch

    return torch.cuda.is_available() and not config.get("use_cpu")


def current_device() -> "torch.device":
    """This process's GPU (``LOCAL_RANK`` under a distributed launch), or the CPU."""
    import torch

    if not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))


def checkpoint_dtype(hf_config: Any) -> "torch.dtype | None":
    """The dtype a model folder's config.json records, if any."""
    import torch

    value = getattr(hf_config, "dtype", None) or getattr(hf_config, "torch_dtype", None)
    if isinstance(value, str):
        value = getattr(torch, value, None)
    return value if isinstance(value, torch.dtype) else None


def compute_dtype(config: "Config", hf_config: Any, is_trainable: bool) -> "torch.dtype":
    """The dtype weights load in and half-precision kernels compute in.

    On a CPU float32. Training: bf16/pure_bf16 -> bfloat16, fp16 -> float16. Inference: ``infer_dtype`` unless
    ``auto``. Otherwise the best the GPU supports (bfloat16 when it can and the checkpoint is not float16/32).
    """
    import torch

    if not uses_accelerator(config):
        return torch.float32
    if is_trainable:
        if config.get("bf16") or config.get("pure_bf16"):
            return torch.bfloat16
        if config.get("fp16"):
            return torch.float16
    elif config.get("infer_dtype") != "auto":
        return getattr(torch, config.get("infer_dtype"))
    saved = checkpoint_dtype(hf_config)
    if torch.cuda.is_bf16_supported() and saved in (torch.bfloat16, None):
        return torch.bfloat16
    return torch.float16


def attention_implementation(config: "Config") -> str | None:
    """The ``attn_implementation`` for ``flash_attn``; None lets transformers choose (``auto``)."""
    choice = config.get("flash_attn")
    if choice == "auto":
        return None
    if choice in ("fa2", "fa3"):
        from transformers.utils import is_flash_attn_2_available, is_flash_attn_3_available

        available = is_flash_attn_2_available() if choice == "fa2" else is_flash_attn_3_available()
        if not available:
            package = "flash-attn" if choice == "fa2" else "flash-attn 3 (flash_attn_interface, Hopper GPUs)"
            raise ModelLoadError(
                f"flash_attn: {choice} needs the {package} package and a CUDA GPU, and it is not usable here; "
                "install it, or set flash_attn: sdpa (or auto)"
            )
    return ATTENTION[choice]


def rope_scaling(config: "Config", hf_config: Any, is_trainable: bool) -> None:
    """Set ``rope_scaling`` on the model config: factor ceil(cutoff_len / trained length) in training, 2 otherwise."""
    kind = config.get("rope_scaling")
    if kind is None:
        return
    current = getattr(hf_config, "rope_parameters", None) or getattr(hf_config, "rope_scaling", None) or {}
    if not hasattr(hf_config, "max_position_embeddings"):
        log.warning("rope_scaling: the model config has no max_position_embeddings; RoPE scaling is not applied")
        return
    old_max = current.get("original_max_position_embeddings") or hf_config.max_position_embeddings
    if is_trainable:
        if config.get("cutoff_len") <= old_max:
            log.warning("rope_scaling: cutoff_len is within the model's trained length; RoPE scaling is off")
            return
        factor = float(math.ceil(config.get("cutoff_len") / old_max))
    else:
        factor = 2.0
    params: dict[str, Any] = {k: v for k, v in current.items() if k in ("rope_theta", "partial_rotary_factor")}
    params.update({"rope_type": kind, "factor": factor})
    if kind in ("dynamic", "yarn", "llama3"):
        params["original_max_position_embeddings"] = old_max
    if kind == "llama3":
        params.update({"low_freq_factor": 1.0, "high_freq_factor": 4.0})
    hf_config.max_position_embeddings = int(old_max * factor)
    if hasattr(hf_config, "rope_parameters"):
        hf_config.rope_parameters = params
    else:
        hf_config.rope_scaling = params
    log.info("RoPE %s scaling with factor %s: max length %s -> %s", kind, factor, old_max, int(old_max * factor))


def quantization_kwargs(config: "Config", hf_config: Any, dtype: "torch.dtype") -> dict[str, Any]:
    """``quantization_config`` and ``device_map`` for on-the-fly bitsandbytes quantization (``quantization_bit``)."""
    bits = config.get("quantization_bit")
    if bits is None:
        return {}
    if getattr(hf_config, "quantization_config", None):
        log.warning("quantization_bit: the model is already quantized; quantization_bit has no effect")
        return {}
    if not uses_accelerator(config):
        raise ModelLoadError(
            f"quantization_bit: {bits}-bit quantization (bitsandbytes) needs a CUDA GPU and there is none "
            "(or use_cpu is set); remove quantization_bit to train unquantized"
        )
    if not installed("bitsandbytes"):
        raise ModelLoadError(
            "quantization_bit: the bitsandbytes package is not installed; "
            "pip install 'lmf-workbench[bitsandbytes]' or remove quantization_bit"
        )
    from transformers import BitsAndBytesConfig

    if bits == 8:
        quant = BitsAndBytesConfig(load_in_8bit=True)
    else:
        quant = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_compute_dtype=dtype,
            bnb_4bit_use_double_quant=config.get("double_quantization"),
            bnb_4bit_quant_type=config.get("quantization_type"),
            bnb_4bit_quant_storage=dtype,
        )
    if config.get("quantization_device_map") == "auto" and bits != 4:
        raise ModelLoadError("quantization_device_map: only a 4-bit model can use the auto device map")
    device_map: Any = "auto" if config.get("quantization_device_map") == "auto" else {"": current_device()}
    log.info("Quantizing the model to %d bits with bitsandbytes.", bits)
    return {"quantization_config": quant, "device_map": device_map}


def apply_liger_kernel(config: "Config", hf_config: Any, is_trainable: bool) -> None:
    """Patch the model class with Liger kernels (``enable_liger_kernel``) before it is built."""
    if not is_trainable or not config.get("enable_liger_kernel"):
        return
    if not installed("liger_kernel"):
        raise ModelLoadError(
            "enable_liger_kernel: the liger-kernel package is not installed; pip install liger-kernel "
            "or set enable_liger_kernel: false"
        )
    import inspect

    from liger_kernel import transformers as liger

    model_type = getattr(hf_config, "model_type", None)
    patch = getattr(liger, f"apply_liger_kernel_to_{model_type}", None)
    if patch is None:
        log.warning("enable_liger_kernel: Liger has no kernels for model type %r; not applied", model_type)
        return
    kwargs: dict[str, Any] = {}
    if (
        config.get("stage") not in ("pt", "sft")
        and "fused_linear_cross_entropy" in inspect.signature(patch).parameters
    ):
        kwargs = {"fused_linear_cross_entropy": False, "cross_entropy": True}
    patch(**kwargs)
    log.info("Liger kernels applied to %s.", model_type)
