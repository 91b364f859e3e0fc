"""Write tests/fixtures/multimodal/CASE.json: LLaMA-Factory 0.9.5's encoding of the demo's multimodal datasets with
the demo's tiny vision-language models, the golden of tests/engine/data/test_multimodal_vs_lf.py.

Run with the multimodal reference environment (``benchmarks/reference_mm_venv.sh``: LLaMA-Factory with torch and
torchvision, which transformers 5 needs to load a Qwen2-VL processor at all) on a demo workspace made by this
project's venv; the audio cases (``qwen2_audio_*``) with the audio one (``benchmarks/reference_audio_venv.sh``:
torch 2.8 and torchaudio 2.8, which LLaMA-Factory reads audio with)::

    .venv/bin/lmf-engine demo init /tmp/mm-ws
    /work/lf-mm-venv/bin/python scripts/lf_mm_goldens.py --workspace /tmp/mm-ws
    /work/lf-audio-venv/bin/python scripts/lf_mm_goldens.py --workspace /tmp/mm-ws qwen2_audio_sft

For each case, LLaMA-Factory's ``get_dataset`` gives the encoded rows (input ids, labels, media paths) and its
plugin's ``get_mm_inputs`` the processor tensors of the first rows (shapes, and sums and leading values of the
pixel values). The image processor is the PIL one (``backend="pil"``), which is what transformers gives on a
machine without torchvision, so that the pixel values compare with this project's CPU test environment.
"""

import argparse
import importlib.metadata
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "multimodal"
MM_ROWS = 4  # rows whose processor tensors are recorded (and the last two later rows with videos)
BASE: dict[str, Any] = {
    "do_train": True,
    "finetuning_type": "lora",
    "dataset_dir": "data",
    "cutoff_len": 1024,
    "overwrite_cache": True,
    "output_dir": "/tmp/lf-mm-goldens-out",
    "report_to": "none",
    "preprocessing_num_workers": None,
}


def _case(model: str, template: str, stage: str, dataset: str, **extra: Any) -> dict[str, Any]:
    """A case's config: the demo's ``models/tiny-MODEL`` with ``template`` on ``dataset``, plus ``extra`` keys."""
    return {
        "model_name_or_path": f"models/tiny-{model}",
        "template": template,
        "stage": stage,
        "dataset": dataset,
        **extra,
    }


CASES: dict[str, dict[str, Any]] = {
    "qwen2_vl_sft": _case("qwen2-vl", "qwen2_vl", "sft", "demo_mllm"),
    "qwen2_vl_sft_pixels": _case(
        "qwen2-vl", "qwen2_vl", "sft", "demo_mllm", image_max_pixels=5000, image_min_pixels=3000, cutoff_len=64
    ),
    "qwen2_vl_dpo": _case("qwen2-vl", "qwen2_vl", "dpo", "demo_mllm_dpo"),
    "qwen3_vl_sft": _case("qwen3-vl", "qwen3_vl_nothink", "sft", "demo_mllm,demo_sft", image_max_pixels=262144),
    "llava_sft": _case("llava", "llava", "sft", "demo_mllm"),
    "llava_next_sft": _case("llava-next", "llava_next", "sft", "demo_mllm", image_max_pixels=20000),
    "llava_dpo": _case("llava", "llava", "dpo", "demo_mllm_dpo"),
    "gemma3_sft": _case("gemma3", "gemma3", "sft", "demo_mllm"),
    "gemma3_kto": _case("gemma3", "gemma3", "kto", "demo_mllm_kto"),
    "qwen2_vl_video_sft": _case("qwen2-vl", "qwen2_vl", "sft", "demo_video"),
    "qwen2_vl_video_maxlen": _case(
        "qwen2-vl",
        "qwen2_vl",
        "sft",
        "demo_video",
        video_fps=4.0,
        video_maxlen=5,
        video_max_pixels=4000,
        video_min_pixels=2500,
    ),
    "qwen2_vl_video_frames": _case("qwen2-vl", "qwen2_vl", "sft", "demo_frames"),
    "qwen3_vl_video_sft": _case("qwen3-vl", "qwen3_vl_nothink", "sft", "demo_video", max_samples=10),
    "qwen3_vl_video_frames": _case("qwen3-vl", "qwen3_vl_nothink", "sft", "demo_frames", video_fps=4.0),
    "pixtral_sft": _case("pixtral", "pixtral", "sft", "demo_mllm", image_max_pixels=3000),
    "pixtral_dpo": _case("pixtral", "pixtral", "dpo", "demo_mllm_dpo"),
    "qwen2_audio_sft": _case("qwen2-audio", "qwen2_audio", "sft", "demo_audio"),
    "intern_vl_sft": _case("internvl", "intern_vl", "sft", "demo_mllm"),
    "intern_vl_crop": _case("internvl", "intern_vl", "sft", "demo_mllm", crop_to_patches=True),
    "intern_vl_video": _case("internvl", "intern_vl", "sft", "demo_video"),
    "glm4v_sft": _case("glm4v", "glm4v", "sft", "demo_mllm"),
    "glm4v_dpo": _case("glm4v", "glm4v", "dpo", "demo_mllm_dpo", image_max_pixels=20000),
    "mllama_sft": _case("mllama", "mllama", "sft", "demo_mllm"),
    "mllama_dpo": _case("mllama", "mllama", "dpo", "demo_mllm_dpo"),
    "qwen2_omni_image": _case("qwen2-omni", "qwen2_omni", "sft", "demo_mllm"),
    "qwen2_omni_video": _case("qwen2-omni", "qwen2_omni", "sft", "demo_video"),
    "qwen2_omni_audio": _case("qwen2-omni", "qwen2_omni", "sft", "demo_audio"),
    "paligemma_sft": _case("paligemma", "paligemma", "sft", "demo_mllm", cutoff_len=40),
    "paligemma_dpo": _case("paligemma", "paligemma", "dpo", "demo_mllm_dpo"),
    "paligemma_kto": _case("paligemma", "paligemma", "kto", "demo_mllm_kto"),
    "paligemma_mask_history": _case("paligemma", "paligemma", "sft", "demo_mllm", mask_history=True),
}
# Qwen3-VL videos: the first 10 rows of demo_video, whose one video is in the first message; LLaMA-Factory
# 0.9.5 fails on the 11th (two videos, the second in the third message: it reads frame times by message index).
# No case with image_do_pan_and_scan: LLaMA-Factory 0.9.5 fails on it with transformers 5 (it indexes the image
# processor's num_crops, one number per image now, as a nested list: "invalid index of a 0-dim tensor").
PACKAGES = ("llamafactory", "torch", "torchvision", "torchaudio", "transformers", "datasets", "pillow")


def _tensor_summary(value: Any) -> Any:
    import torch

    if not isinstance(value, torch.Tensor):
        return value
    summary: dict[str, Any] = {"shape": list(value.shape), "dtype": str(value.dtype).removeprefix("torch.")}
    if value.is_floating_point():
        flat = value.double().flatten()
        summary.update(sum=float(flat.sum()), abs_sum=float(flat.abs().sum()), head=flat[:8].tolist())
    else:
        summary["values"] = value.tolist()
    return summary


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:  # the multimodal venv's torchaudio is an empty stand-in
        return None


def run_case(name: str, values: dict[str, Any]) -> dict[str, Any]:
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.hparams import get_train_args
    from llamafactory.model import load_tokenizer
    from transformers import AutoImageProcessor

    config = {**BASE, **values}
    model_args, data_args, training_args, _, _ = get_train_args(dict(config))
    module = load_tokenizer(model_args)
    processor = module["processor"]
    if getattr(processor, "image_processor", None) is not None:
        processor.image_processor = AutoImageProcessor.from_pretrained(model_args.model_name_or_path, backend="pil")
    template = get_template_and_fix_tokenizer(module["tokenizer"], data_args)
    stage = "rm" if config["stage"] == "dpo" else config["stage"]
    dataset = get_dataset(template, model_args, data_args, training_args, stage, **module)["train_dataset"]
    rows = [dict(row) for row in dataset]
    mm_inputs = []
    picked = (
        list(range(min(MM_ROWS, len(rows)))) + [i for i in range(MM_ROWS, len(rows)) if rows[i].get("videos")][-2:]
    )
    for row in (rows[i] for i in picked):
        images, videos, audios = row.get("images") or [], row.get("videos") or [], row.get("audios") or []
        ids = row.get("input_ids") or row["chosen_input_ids"]
        inputs = template.mm_plugin.get_mm_inputs(
            images, videos, audios, [len(images)], [len(videos)], [len(audios)], [ids], processor
        )
        inputs.pop("video_metadata", None)  # Qwen3-VL's frame times, which went into the text; the model ignores it
        mm_inputs.append({key: _tensor_summary(value) for key, value in inputs.items()})
    return {
        "config": config,
        "columns": sorted(rows[0]),
        "rows": rows,
        "mm_inputs": mm_inputs,
        "mm_rows": picked,
        "versions": {package: _version(package) for package in PACKAGES},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", required=True, help="a demo workspace (lmf-engine demo init)")
    parser.add_argument("cases", nargs="*", help="cases to write (default: all)")
    args = parser.parse_args()
    os.chdir(args.workspace)
    OUT.mkdir(parents=True, exist_ok=True)
    for name in args.cases or list(CASES):
        result = run_case(name, CASES[name])
        (OUT / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(f"{name}: {len(result['rows'])} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
