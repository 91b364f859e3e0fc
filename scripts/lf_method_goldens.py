"""Write tests/fixtures/methods/CASE.json: LLaMA-Factory 0.9.5's first training losses for one method, the golden of
tests/engine/train/test_methods_vs_lf.py.

Run with the reference environment (``benchmarks/reference_venv.sh``; the method's own package installed there too)
on a demo workspace made by this project's venv::

    .venv/bin/lmf-engine demo init /tmp/method-ws
    /work/lf-venv/bin/python scripts/lf_method_goldens.py --workspace /tmp/method-ws galore \\
        use_galore=true galore_target=all galore_rank=4

Multimodal cases run with the multimodal reference environment (``benchmarks/reference_mm_venv.sh``), e.g.::

    /work/lf-mm-venv/bin/python scripts/lf_method_goldens.py --workspace /tmp/method-ws vlm_qwen2_vl_lora \
        model_name_or_path=models/tiny-qwen2-vl template=qwen2_vl dataset=demo_mllm

Image processors are transformers' PIL ones in both (see PIL_TRAIN).

The case's config is BASE (LoRA sft of the demo's tiny model, 10 steps, a loss per step) with the overrides; it is
stored whole in the golden, with the losses ``llamafactory-cli train`` logged and the versions it ran with.
``--setup "ARGS"`` (repeatable) runs ``lmf-engine ARGS`` in the workspace first (say, to write a model the case
trains) and is stored so the test runs it too.
"""

import argparse
import importlib.metadata
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "methods"
LMF = ROOT / ".venv" / "bin" / "lmf-engine"
BASE: dict[str, Any] = {
    "model_name_or_path": "models/tiny-qwen2",
    "stage": "sft",
    "do_train": True,
    "finetuning_type": "lora",
    "lora_rank": 8,
    "lora_alpha": 16,
    "lora_target": "all",
    "dataset": "demo_sft,demo_identity",
    "dataset_dir": "data",
    "template": "qwen",
    "cutoff_len": 256,
    "max_samples": 100,
    "overwrite_cache": True,
    "logging_steps": 1,
    "save_strategy": "no",
    "overwrite_output_dir": True,
    "report_to": "none",
    "per_device_train_batch_size": 2,
    "gradient_accumulation_steps": 1,
    "learning_rate": 5.0e-3,
    "max_steps": 10,
    "lr_scheduler_type": "cosine",
    "warmup_ratio": 0.1,
    "bf16": False,
    "seed": 42,
}
PACKAGES = (
    "llamafactory", "torch", "torchvision", "transformers", "peft", "trl", "accelerate", "datasets", "pillow",
    "galore-torch", "apollo-torch", "badam", "adam-mini",
)  # fmt: skip


PIL_TRAIN = """
import sys
import transformers
from transformers.models.auto import image_processing_auto

load = image_processing_auto.AutoImageProcessor.from_pretrained.__func__


def pil_only(cls, *args, **kwargs):
    kwargs.pop("use_fast", None)
    return load(cls, *args, **{**kwargs, "backend": "pil"})


image_processing_auto.AutoImageProcessor.from_pretrained = classmethod(pil_only)
from llamafactory.cli import main

sys.argv = ["llamafactory-cli", "train", sys.argv[1]]
main()
"""
"""``llamafactory-cli train CONFIG`` with transformers' PIL image processors, the ones a machine without
torchvision (this project's CPU test machine) loads, so that multimodal cases see the same pixel values."""


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def losses(trainer_log: Path) -> list[float]:
    lines = [json.loads(line) for line in trainer_log.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [line["loss"] for line in lines if "loss" in line]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True, help="a demo workspace (lmf-engine demo init)")
    parser.add_argument("--setup", action="append", default=[], help="lmf-engine arguments run in the workspace first")
    parser.add_argument("case", help="the golden's name (tests/fixtures/methods/CASE.json)")
    parser.add_argument("overrides", nargs="*", help="key=value over BASE (values read as YAML)")
    args = parser.parse_args()
    workspace = args.workspace.resolve()
    config = dict(BASE)
    for item in args.overrides:
        key, _, value = item.partition("=")
        config[key] = yaml.safe_load(value)
    setup = [shlex.split(line) for line in args.setup]
    for argv in setup:
        subprocess.run([str(LMF), *argv], cwd=workspace, check=True)
    run_name = f"lf_method_{args.case}"
    config["output_dir"] = f"runs/{run_name}"
    config_file = workspace / "configs" / f"{run_name}.yaml"
    config_file.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": ""}
    subprocess.run([sys.executable, "-c", PIL_TRAIN, str(config_file)], cwd=workspace, check=True, env=env)
    found = losses(workspace / config["output_dir"] / "trainer_log.jsonl")
    if len(found) != config["max_steps"]:
        raise SystemExit(f"LLaMA-Factory logged {len(found)} losses, expected {config['max_steps']}")
    del config["output_dir"]
    golden = {"case": args.case, "config": config, "setup": setup, "losses": found, "reference": versions()}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{args.case}.json").write_text(json.dumps(golden, indent=1) + "\n", encoding="utf-8")
    print(f"{args.case}: {found}")


if __name__ == "__main__":
    main()
