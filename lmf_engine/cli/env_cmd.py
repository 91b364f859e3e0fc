"""``lmf-engine version`` and ``lmf-engine env``."""

import json
import platform
import sys
from typing import Annotated, Any

import typer

from lmf_engine import __version__

PACKAGES = ("torch", "transformers", "peft", "trl", "accelerate", "datasets", "tokenizers", "textual", "vllm",
            "deepspeed", "bitsandbytes", "nvidia-ml-py")  # fmt: skip


def version() -> None:
    """Print the lmf workbench version."""
    typer.echo(f"lmf workbench {__version__}")


def env(as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False) -> None:
    """Print versions of Python and the ML stack, and the GPUs torch sees (paste this into bug reports)."""
    info = collect_env()
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    width = max(len(k) for k in info)
    for key, value in info.items():
        typer.echo(f"{key:<{width}}  {value}")


def collect_env() -> dict[str, Any]:
    """Versions and devices; packages that are not installed read ``not installed``."""
    from importlib import metadata

    info: dict[str, Any] = {
        "lmf-workbench": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }
    for name in PACKAGES:
        try:
            info[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            info[name] = "not installed"
    try:
        import torch
    except ImportError:
        info["cuda"] = "unknown (torch not installed)"
        info["gpus"] = []
        return info
    info["cuda"] = torch.version.cuda or "none (CPU build)"
    if torch.cuda.is_available():
        info["gpus"] = []
        for i in range(torch.cuda.device_count()):
            memory = torch.cuda.get_device_properties(i).total_memory / 2**30
            info["gpus"].append(f"{i}: {torch.cuda.get_device_name(i)} ({memory:.0f} GiB)")
    else:
        info["gpus"] = []
    return info
