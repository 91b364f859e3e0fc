"""The ``export`` group: merging adapters and writing a model for serving."""

from dataclasses import dataclass
from typing import Literal

from .fields import opt


@dataclass
class ExportConfig:
    """Where and how `lmf-engine export` writes the merged model."""

    export_dir: str | None = opt(None, "Folder the merged model is written to.")
    export_size: int = opt(5, "Largest safetensors shard, in GB.", ge=1)
    export_device: Literal["cpu", "auto"] = opt("cpu", "Device used to merge: cpu, or auto to use a GPU.")
    export_legacy_format: bool = opt(False, "Write .bin files instead of .safetensors.", advanced=True)
    export_hub_model_id: str | None = opt(
        None, "Also upload the exported model to this Hugging Face Hub repository (needs internet).", advanced=True
    )
    export_quantization_bit: int | None = opt(None, "Quantize the exported model with GPTQ (bits).", advanced=True)
    export_quantization_dataset: str | None = opt(None, "Calibration data for GPTQ export.", advanced=True)
    export_quantization_nsamples: int = opt(128, "Calibration samples for GPTQ export.", ge=1, advanced=True)
    export_quantization_maxlen: int = opt(1024, "Calibration sample length for GPTQ export.", ge=1, advanced=True)
