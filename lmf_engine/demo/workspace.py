"""The demo workspace: a tiny local chat model, small datasets for every stage and example configs.

Everything is generated here, offline and deterministically: the datasets are simple questions and answers about
arithmetic, colours, capitals, units and opposites, written in LLaMA-Factory's formats and registered in
``data/dataset_info.json``; the configs use LLaMA-Factory's keys, so ``llamafactory-cli train configs/sft_lora.yaml``
run from the workspace root works as well as the workbench does. Layout (see DESIGN.md, "Workspace")::

    README.md
    models/tiny-qwen2/        tokenizer + 2-layer Qwen2 with random weights
    models/tiny-qwen2-vl/     ... with a 1-layer vision tower and its image processor (Qwen2-VL)
    models/tiny-qwen3-vl/     ... the same as a Qwen3-VL (patch 16, DeepStack)
    models/tiny-llava/        ... a LLaVA-1.5 with a 2-layer CLIP vision tower
    models/tiny-llava-next/   ... the same as a LLaVA-NeXT (images tiled on a small grid)
    models/tiny-gemma3/       ... a Gemma 3 with a 1-layer SigLIP tower (4 tokens an image)
    models/tiny-paligemma/    ... a PaliGemma with the same tower (16 image tokens before the text)
    models/tiny-pixtral/      ... a Pixtral (a LLaVA with a Pixtral tower; image tokens in rows)
    models/tiny-qwen2-audio/  ... a Qwen2-Audio with a 1-layer audio encoder
    models/tiny-internvl/     ... an InternVL (4 tokens a 64-pixel tile)
    models/tiny-glm4v/        ... a GLM-4.1V
    models/tiny-mllama/       ... a Llama 3.2 Vision (cross-attention to image tiles)
    models/tiny-qwen2-omni/   ... the thinker of a Qwen2.5-Omni (pictures, clips and sounds)
    data/dataset_info.json    demo_sft, demo_multiturn, demo_dpo, demo_kto, demo_pt, demo_identity,
                              demo_mllm, demo_mllm_dpo, demo_mllm_kto (about the pictures in data/demo_images/),
                              demo_video, demo_frames (about the clips in data/demo_videos/),
                              demo_audio (about the tones in data/demo_sounds/)
    configs/*.yaml            one example per stage, plus merge and chat
    runs/                     where the examples write (created by the runs themselves)
"""

import json
import shutil
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from lmf_engine.demo.configs import (
    CONFIGS,
    DEMO_MODEL_DIRNAME,
    README_HEADER,
    VLM_MODELS,
    demo_config_names,
    render_config,
    render_readme,
)
from lmf_engine.demo.datasets import DATA_DIR, DATASET_INFO, DATASETS
from lmf_engine.demo.images import IMAGE_DIR, PICTURES, write_pictures
from lmf_engine.demo.sounds import sound_files, write_sounds
from lmf_engine.demo.videos import clip_files, write_clips
from lmf_engine.model.tiny import build_tiny_model
from lmf_engine.model.tiny_vlm import build_tiny_vlm
from lmf_engine.util.fs import atomic_write_text

__all__ = ["DEMO_MODEL_DIRNAME", "demo_config_names", "init_demo_workspace"]


def _owned_files(root: Path) -> dict[Path, Callable[[], str]]:
    """Every text file the demo writes (the model folder aside), with the function that renders it."""
    files: dict[Path, Callable[[], str]] = {
        root / DATA_DIR / info["file_name"]: render for info, render in DATASETS.values()
    }
    for name in CONFIGS:
        files[root / "configs" / f"{name}.yaml"] = partial(render_config, name)
    return files


def _merged_dataset_info(path: Path) -> str:
    """``dataset_info.json`` with the demo entries set and any other entries of an existing file kept."""
    registry: dict[str, Any] = {}
    if path.exists():
        try:
            registry = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(
                f"{path} is not valid JSON ({exc}); fix or remove it, the demo will not replace it"
            ) from None
        if not isinstance(registry, dict):
            raise ValueError(f"{path} is not a JSON object; fix or remove it, the demo will not replace it")
    registry.update({name: info for name, (info, _) in DATASETS.items()})
    return json.dumps(registry, ensure_ascii=False, indent=2) + "\n"


def init_demo_workspace(root: Path, *, force: bool = False) -> Path:
    """Create the demo workspace in ``root`` (made if missing) and return its absolute path.

    Without ``force``, a workspace that already has ``data/dataset_info.json`` or any file the demo writes raises
    :class:`FileExistsError`, and nothing is written. With ``force`` the demo's own files are rewritten: its data
    files and pictures, its configs, its models and its entries in ``dataset_info.json``; other entries and files
    stay, and a README.md that the demo did not write is kept.
    """
    root = Path(root).resolve()
    files = _owned_files(root)
    info_path = root / DATA_DIR / DATASET_INFO
    builders: dict[Path, Callable[[Path], Path]] = {root / "models" / DEMO_MODEL_DIRNAME: build_tiny_model}
    for arch, folder in VLM_MODELS.items():
        builders[root / "models" / folder] = partial(build_tiny_vlm, arch=arch)  # type: ignore[arg-type]
    pictures = [root / DATA_DIR / IMAGE_DIR / f"{picture.name}.png" for picture in PICTURES]
    pictures += clip_files(root / DATA_DIR) + sound_files(root / DATA_DIR)
    readme = root / "README.md"
    if not force:
        taken = [p for p in [info_path, *files, *builders, *pictures] if p.exists()]
        if taken:
            names = ", ".join(str(p.relative_to(root)) for p in taken[:4]) + (" ..." if len(taken) > 4 else "")
            raise FileExistsError(
                f"{root} already has a workspace ({names}); use force (--force on the command line) to rewrite "
                "the demo's own files; other files and dataset entries are kept"
            )
    dataset_info = _merged_dataset_info(info_path)

    for model_dir, build in builders.items():
        model_dir.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f".{model_dir.name}.", dir=model_dir.parent) as tmp:
            build(Path(tmp) / model_dir.name)
            if model_dir.exists():
                shutil.rmtree(model_dir)
            (Path(tmp) / model_dir.name).rename(model_dir)
    write_pictures(root / DATA_DIR / IMAGE_DIR)
    write_clips(root / DATA_DIR)
    write_sounds(root / DATA_DIR)
    for path, render in files.items():
        atomic_write_text(path, render())
    if not readme.exists() or readme.read_text(encoding="utf-8", errors="replace").startswith(README_HEADER):
        atomic_write_text(readme, render_readme())
    atomic_write_text(info_path, dataset_info)
    return root
