"""FP8 mixed precision (``fp8``, ``fp8_backend``, ``fp8_enable_fsdp_float8_all_gather``) through accelerate.

As LLaMA-Factory 0.9.5's ``train/fp8_utils.py`` means it: stages pt and sft train with accelerate's
``mixed_precision="fp8"``. Backend ``auto`` and ``torchao`` use torchao's row-wise scaled float8 linear layers on
every linear layer but embeddings and output heads whose sizes are multiples of 16; ``msamp`` (which accelerate no
longer has) uses torchao's default recipe as LLaMA-Factory's does; ``te`` uses NVIDIA Transformer Engine's HYBRID
recipe (amax history 16, max). ``fp8_enable_fsdp_float8_all_gather`` turns fp8 on and all-gathers FSDP2 weights in
float8, which torchao does only with tensor-wise scaling, so it uses that recipe. FP8 needs an NVIDIA GPU of compute
capability 8.9 or newer: :func:`check_fp8` says so in one line before anything loads.
"""

import logging
from typing import TYPE_CHECKING, Any

from lmf_engine.util.packages import installed

if TYPE_CHECKING:
    from lmf_engine.config import Config

log = logging.getLogger(__name__)

FP8_STAGES = ("pt", "sft")
"""The stages whose trainers LLaMA-Factory 0.9.5 sets up for fp8 (the others train without it)."""
MIN_CAPABILITY = (8, 9)
SKIPPED_LAYERS = ("embed", "lm_head", "output", "classifier")


class Fp8Error(RuntimeError):
    """FP8 cannot run here; the message says why and what to change."""


def fp8_requested(config: "Config") -> bool:
    """``fp8``, or ``fp8_enable_fsdp_float8_all_gather`` which needs it."""
    return bool(config.get("fp8") or config.get("fp8_enable_fsdp_float8_all_gather"))


def fp8_applies(config: "Config") -> bool:
    """Whether this run trains in fp8: asked for, and a stage LLaMA-Factory trains in fp8."""
    return fp8_requested(config) and config.get("stage") in FP8_STAGES


def fp8_backend(config: "Config") -> str:
    """``torchao`` or ``te``: the package that runs the config's ``fp8_backend`` here."""
    backend = config.get("fp8_backend")
    if backend == "te" or (backend == "auto" and not installed("torchao") and installed("transformer_engine")):
        return "te"
    return "torchao"


def _gpu_problem(config: "Config") -> str | None:
    import torch

    if config.get("use_cpu") or not torch.cuda.is_available():
        return "this run has no CUDA GPU" + (" (use_cpu is set)" if config.get("use_cpu") else "")
    major, minor = torch.cuda.get_device_capability()
    if (major, minor) < MIN_CAPABILITY:
        return f"the GPU here ({torch.cuda.get_device_name()}) has compute capability {major}.{minor}"
    return None


def check_fp8(config: "Config") -> None:
    """Raise :class:`Fp8Error` when the config asks for fp8 and this machine cannot train in it."""
    if not fp8_requested(config):
        return
    if not fp8_applies(config):
        stage = config.get("stage")
        log.warning("fp8: stage %s trains without fp8, as in LLaMA-Factory 0.9.5 (fp8 is for pt and sft).", stage)
        return
    problem = _gpu_problem(config)
    if problem is not None:
        raise Fp8Error(
            f"fp8: FP8 training needs an NVIDIA GPU of compute capability 8.9 or newer (Ada, Hopper, Blackwell) and "
            f"{problem}; remove fp8 (use bf16)"
        )
    if fp8_backend(config) == "te":
        if not installed("transformer_engine"):
            raise Fp8Error(
                "fp8_backend: te needs NVIDIA Transformer Engine: pip install 'lmf-workbench[fp8-te]', "
                "or use fp8_backend: torchao"
            )
    elif not installed("torchao"):
        raise Fp8Error("fp8 needs the torchao package: pip install 'lmf-workbench[fp8]'")


def fp8_module_filter(module: Any, name: str) -> bool:
    """Whether torchao converts this layer: a 2-d weight with both sizes multiples of 16, not an embedding or a
    head (they stay in higher precision)."""
    if any(part in name.lower() for part in SKIPPED_LAYERS):
        return False
    weight = getattr(module, "weight", None)
    if weight is None or weight.dim() != 2:
        return False
    out_features, in_features = weight.shape
    return in_features % 16 == 0 and out_features % 16 == 0


def fp8_recipe(config: "Config") -> Any:
    """accelerate's kwargs handler holding the fp8 recipe of the config's backend."""
    if fp8_backend(config) == "te":
        from accelerate.utils import TERecipeKwargs

        return TERecipeKwargs(fp8_format="HYBRID", amax_history_len=16, amax_compute_algo="max")
    from accelerate.utils import AORecipeKwargs
    from torchao.float8 import Float8LinearConfig

    if config.get("fp8_enable_fsdp_float8_all_gather"):
        recipe = Float8LinearConfig(enable_fsdp_float8_all_gather=True, pad_inner_dim=True)
    elif config.get("fp8_backend") == "msamp":
        log.warning("fp8_backend: msamp is not in accelerate 1.16; torchao's default recipe trains in fp8 instead.")
        recipe = None
    else:
        recipe = Float8LinearConfig.from_recipe_name("rowwise")
    return AORecipeKwargs(config=recipe, module_filter_func=fp8_module_filter)


def fp8_accelerator_args(config: "Config", args: dict[str, Any]) -> dict[str, Any]:
    """The trainer's ``Accelerator`` arguments with fp8 mixed precision and its recipe, when the run trains in fp8."""
    if not fp8_applies(config):
        return args
    recipe = fp8_recipe(config)
    log.info("FP8 mixed precision with the %s backend.", fp8_backend(config))
    return {**args, "mixed_precision": "fp8", "kwargs_handlers": [*args.get("kwargs_handlers", []), recipe]}
