"""vLLM's engine arguments and LoRA request for a config, as LLaMA-Factory builds them (plain functions, tested
without vLLM; vLLM is imported by their callers only). Shared by the chat engine and batch prediction."""

import json
from typing import TYPE_CHECKING, Any

from lmf_engine.util.packages import installed

if TYPE_CHECKING:
    from lmf_engine.config import Config

LORA_NAME = "default"
MISSING = (
    "infer_backend: vllm needs the `vllm` package, which is not installed here; on a GPU machine run "
    "`pip install 'lmf-workbench[vllm]'`, or set infer_backend: huggingface"
)


class VllmSetupError(ValueError):
    """A config vLLM cannot serve as it is; the message names the key."""


class VllmMissing(VllmSetupError):
    """The ``vllm`` package is not installed."""


def require_vllm() -> None:
    """:class:`VllmMissing` with what to do when the ``vllm`` package is not installed."""
    if not installed("vllm"):
        raise VllmMissing(MISSING)


def device_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def engine_args(config: "Config", vllm_version: str, device_count: int) -> dict[str, Any]:
    """``AsyncEngineArgs`` keywords for a config (LLaMA-Factory's, including ``vllm_config`` overrides)."""
    from packaging.version import Version

    adapters = _adapter_paths(config)
    args: dict[str, Any] = {
        "model": config.get("model_name_or_path"),
        "trust_remote_code": config.get("trust_remote_code"),
        "download_dir": config.get("cache_dir"),
        "dtype": config.get("infer_dtype"),
        "max_model_len": config.get("vllm_maxlen"),
        "tensor_parallel_size": device_count or 1,
        "gpu_memory_utilization": config.get("vllm_gpu_util"),
        "disable_log_stats": True,
        "enforce_eager": config.get("vllm_enforce_eager"),
        "enable_lora": bool(adapters),
        "max_lora_rank": config.get("vllm_max_lora_rank"),
    }
    if Version(vllm_version) <= Version("0.10.0"):
        args["disable_log_requests"] = True
    else:
        args["enable_log_requests"] = False
    extra = config.get("vllm_config")
    if isinstance(extra, str):
        try:
            extra = json.loads(extra)
        except json.JSONDecodeError as exc:
            raise VllmSetupError(f"vllm_config: not valid JSON ({exc})") from None
    if isinstance(extra, dict):
        args.update(extra)
    return args


def _adapter_paths(config: "Config") -> list[str]:
    from lmf_engine.model.adapters import adapter_paths

    return adapter_paths(config)


def lora_request_args(config: "Config") -> tuple[str, int, str] | None:
    """``(name, id, path)`` of the LoRA request for ``adapter_name_or_path``, or None without adapters."""
    paths = _adapter_paths(config)
    if not paths:
        return None
    if len(paths) > 1:
        raise VllmSetupError(
            "adapter_name_or_path: vLLM serves one LoRA adapter per request; merge the others into the base model "
            "first (lmf-engine export) or use infer_backend: huggingface"
        )
    from lmf_engine.model.adapters import adapter_type

    kind = adapter_type(paths[0], config.get("adapter_folder"))
    if kind != "LORA":
        raise VllmSetupError(
            f"adapter_name_or_path: vLLM serves LoRA adapters only, and {paths[0]!r} is {kind}; merge it into the "
            "base model first (lmf-engine export) or use infer_backend: huggingface"
        )
    return LORA_NAME, 1, paths[0]
