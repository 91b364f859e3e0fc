"""Export a model for serving, as LLaMA-Factory 0.9.5's ``export_model`` does.

The config's adapters (``adapter_name_or_path``) are merged into ``model_name_or_path`` by loading it for inference;
the weights are cast to ``infer_dtype`` (``auto``: bfloat16 where the GPU supports it and the checkpoint is not
float16/float32, else float16) and saved in safetensors shards of at most ``export_size`` GB to ``export_dir``, with
the tokenizer (left padding, the template's chat template) and, for ``stage: rm``, the value head. The caller
fixes the tokenizer for the template first and passes the Ollama Modelfile text (:mod:`lmf_engine.data.templates`
sits above this layer).
"""

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ModelLoadError
from .processor_files import copy_processor_files
from .settings import checkpoint_dtype

if TYPE_CHECKING:
    import torch

    from lmf_engine.config import Config

log = logging.getLogger(__name__)

MODELFILE = "Modelfile"
VALUE_HEAD_FILES = ("value_head.safetensors", "value_head.bin")


class ExportError(ValueError):
    """The export cannot be done as configured; the message names the key and what to change."""


@dataclass
class ExportResult:
    """What an export wrote."""

    export_dir: Path
    dtype: str
    files: list[str] = field(default_factory=list)
    hub_repo: str | None = None


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in {"1", "true", "yes", "on"}


def check_export(config: "Config") -> None:
    """Problems LLaMA-Factory refuses up front, plus the ones only this machine has (no hub, GPTQ)."""
    if not config.get("export_dir"):
        raise ExportError("export_dir is not set: name the folder the exported model is written to")
    if config.get("export_quantization_bit") is not None:
        if config.get("adapter_name_or_path"):
            raise ExportError("export_quantization_bit: merge the adapters first, then quantize the merged model")
        raise ExportError(
            "export_quantization_bit: GPTQ export is not supported by lmf workbench; export unquantized "
            "(remove export_quantization_bit) and quantize with a GPTQ/AWQ tool"
        )
    if config.get("quantization_bit") is not None and config.get("adapter_name_or_path"):
        raise ExportError(
            "quantization_bit: adapters cannot be merged into a quantized model; remove quantization_bit to merge "
            "into the full-precision base"
        )
    if config.get("export_hub_model_id") and _offline():
        raise ExportError(
            f"export_hub_model_id: uploading to {config.get('export_hub_model_id')!r} needs the Hugging Face Hub, "
            "and this machine is offline (HF_HUB_OFFLINE is set); remove export_hub_model_id to export locally"
        )
    model_path = config.get("model_name_or_path")
    if model_path and Path(config.get("export_dir")).resolve() == Path(model_path).resolve():
        raise ExportError("export_dir: it is model_name_or_path itself; choose another folder")


def export_dtype(config: "Config", hf_config: Any) -> "torch.dtype":
    """The dtype the exported weights are saved in (see the module docstring)."""
    import torch

    if config.get("infer_dtype") != "auto":
        return getattr(torch, config.get("infer_dtype"))
    bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return torch.bfloat16 if bf16 and checkpoint_dtype(hf_config) in (torch.bfloat16, None) else torch.float16


def _export_config(config: "Config") -> "Config":
    """The config to load with: on the CPU when ``export_device: cpu``."""
    import copy

    loading = copy.deepcopy(config)
    if config.get("export_device") == "cpu":
        loading.training.use_cpu = True
    return loading


def _copy_value_head(config: "Config", export_dir: Path) -> str | None:
    """``stage: rm``: copy the value head of the last adapter (or of the model) next to the merged weights."""
    from .adapters import adapter_paths

    paths = adapter_paths(config)
    source = Path(paths[-1] if paths else config.get("model_name_or_path"))
    for name in VALUE_HEAD_FILES:
        if (source / name).is_file():
            shutil.copy(source / name, export_dir / name)
            log.info("Copied the value head to %s.", export_dir)
            return name
    return None


def _push(model: Any, tokenizer: Any, config: "Config") -> str:
    repo = config.get("export_hub_model_id")
    try:
        model.push_to_hub(repo, token=config.get("hf_hub_token"), max_shard_size=f"{config.get('export_size')}GB")
        tokenizer.push_to_hub(repo, token=config.get("hf_hub_token"))
    except Exception as exc:
        raise ExportError(
            f"export_hub_model_id: the model was saved to {config.get('export_dir')}, but uploading to {repo!r} "
            f"failed: {type(exc).__name__}: {exc}"
        ) from None
    return repo


def export_model(config: "Config", tokenizer: Any, modelfile: str | None = None) -> ExportResult:
    """Merge, cast and save the config's model to ``export_dir``; ``tokenizer`` is already fixed for the template.

    Raises :class:`ExportError` or :class:`ModelLoadError` for what a user can fix.
    """
    from transformers import PreTrainedModel

    from .loader import load_model

    check_export(config)
    if config.get("export_legacy_format"):
        log.warning("export_legacy_format: transformers 5 writes safetensors only; the export is in safetensors.")
    model = load_model(_export_config(config), tokenizer, is_trainable=False)
    if not isinstance(model, PreTrainedModel):
        raise ModelLoadError("adapter_name_or_path: the adapters did not merge into a plain model; nothing exported")
    if getattr(model, "quantization_method", None) is not None:
        import torch

        dtype = torch.float16
    else:
        dtype = export_dtype(config, model.config)
        model = model.to(dtype)
    model.config.dtype = dtype
    log.info("Convert model dtype to: %s.", dtype)
    export_dir = Path(config.get("export_dir"))
    export_dir.mkdir(parents=True, exist_ok=True)
    try:
        model.save_pretrained(export_dir, max_shard_size=f"{config.get('export_size')}GB")
    except NotImplementedError as exc:
        raise ExportError(
            f"this model type cannot be saved back to its original format by transformers 5 ({exc}); "
            "export it with an older transformers"
        ) from None
    if config.get("stage") == "rm":
        _copy_value_head(config, export_dir)
    tokenizer.padding_side = "left"
    tokenizer.init_kwargs["padding_side"] = "left"
    tokenizer.save_pretrained(export_dir)
    processor_source = Path(config.get("model_name_or_path"))
    if processor_source.is_dir() and copy_processor_files(processor_source, export_dir):
        log.info("Copied the processor files to %s.", export_dir)
    if modelfile is not None:
        (export_dir / MODELFILE).write_text(modelfile, encoding="utf-8")
        log.info("Ollama modelfile saved in %s", export_dir / MODELFILE)
    hub_repo = _push(model, tokenizer, config) if config.get("export_hub_model_id") else None
    files = sorted(p.name for p in export_dir.iterdir() if p.is_file())
    return ExportResult(export_dir=export_dir, dtype=str(dtype).removeprefix("torch."), files=files, hub_repo=hub_repo)
