"""Images per second of multimodal sft preprocessing: our data pipeline against LLaMA-Factory 0.9.5's ``get_dataset``.

Usage: python benchmarks/mm_preprocess.py --workspace WS [--rows 600] [--repeat 3] [--workers 1,2]

WS is a demo workspace (``lmf-engine demo init WS``): its tiny Qwen2-VL model (tokenizer and image processor) and
template ``qwen2_vl``. The data is ``--rows`` rows, each with its own JPEG photo-like picture (noise over a
gradient, so decoding costs what a photo costs) of one of four sizes from 640x480 to 1280x960, asked about in
LLaMA-Factory's ``mllm_demo`` form. For each ``preprocessing_num_workers``:

* lmf: ``prepare_data`` (read, convert, encode; image tokens counted from each file's header) with our cache off;
* LLaMA-Factory: ``get_dataset`` with ``overwrite_cache``, run by ``--lf-python`` (benchmarks/reference_mm_venv.sh:
  LLaMA-Factory with torch and torchvision, which transformers 5 needs to build a Qwen2-VL processor), whose
  plugin decodes, resizes and runs the image processor on every image to count its tokens.

Each run is a fresh process with fresh caches, timed from after the tokenizer and processor are loaded to the
encoded dataset; the two sides alternate. Both write a SHA-256 of every row's input_ids, labels and images;
``identical`` compares them. ``cores`` is a side's CPU time over its wall time. This file is also the worker.
"""

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from preprocess import cpu_seconds  # benchmarks/ is the script's folder, so on sys.path

ROOT = Path(__file__).resolve().parent.parent
LF_PYTHON = ROOT.parent / "lf-mm-venv" / "bin" / "python"
DATASET = "mm_bench"
RESULT = "RESULT "
SIZES = ((640, 480), (1024, 768), (1280, 720), (960, 1280))
MODEL = "models/tiny-qwen2-vl"


def make_data(rows: int, folder: Path) -> None:
    """``rows`` rows, each with its own JPEG, and the dataset_info.json entry."""
    import numpy as np
    from PIL import Image

    images = folder / "bench_images"
    images.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    data = []
    for i in range(rows):
        width, height = SIZES[i % len(SIZES)]
        ramp = np.linspace(0, 200, width, dtype=np.float32)[None, :, None]
        pixels = ramp + rng.normal(0, 25, (height, width, 3))
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(images / f"{i}.jpg", quality=85)
        data.append({
            "messages": [{"role": "user", "content": f"<image>Describe picture {i}."},
                         {"role": "assistant", "content": f"Picture {i} is a noisy {width}x{height} gradient."}],
            "images": [f"bench_images/{i}.jpg"],
        })  # fmt: skip
    (folder / f"{DATASET}.json").write_text(json.dumps(data), encoding="utf-8")
    entry = {"file_name": f"{DATASET}.json", "formatting": "sharegpt", "columns": {"messages": "messages",
             "images": "images"}, "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
             "assistant_tag": "assistant"}}  # fmt: skip
    (folder / "dataset_info.json").write_text(json.dumps({DATASET: entry}), encoding="utf-8")


def summary(dataset: Any, seconds: float, cpu: float) -> dict[str, Any]:
    digest = hashlib.sha256()
    rows = images = 0
    for row in dataset:
        digest.update(json.dumps([row["input_ids"], row["labels"], row["images"]]).encode())
        rows += 1
        images += len(row["images"] or [])
    return {"rows": rows, "images": images, "seconds": seconds, "cpu": cpu, "sha256": digest.hexdigest()}


def config_values(data_dir: str, workers: int) -> dict[str, Any]:
    return {
        "model_name_or_path": MODEL, "template": "qwen2_vl", "stage": "sft", "do_train": True,
        "finetuning_type": "lora", "dataset": DATASET, "dataset_dir": data_dir, "cutoff_len": 2048,
        "overwrite_cache": True, "preprocessing_num_workers": workers if workers > 1 else None,
        "output_dir": tempfile.mkdtemp(), "report_to": "none",
    }  # fmt: skip


def run_lmf(data_dir: str, workers: int) -> dict[str, Any]:
    from lmf_engine.config import load_config
    from lmf_engine.data.pipeline import prepare_data
    from lmf_engine.model.tokenizer import load_tokenizer

    values = config_values(data_dir, workers)
    del values["output_dir"], values["report_to"]
    config = load_config(values={**values, "lazy_preprocessing": False})
    tokenizer = load_tokenizer(config)
    start, cpu = time.perf_counter(), cpu_seconds()
    prepared = prepare_data(config, tokenizer=tokenizer, use_cache=False)
    return summary(prepared.train, time.perf_counter() - start, cpu_seconds() - cpu)


def run_lf(data_dir: str, workers: int) -> dict[str, Any]:
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.hparams import get_train_args
    from llamafactory.model import load_tokenizer

    model_args, data_args, training_args, _, _ = get_train_args(config_values(data_dir, workers))
    module = load_tokenizer(model_args)
    template = get_template_and_fix_tokenizer(module["tokenizer"], data_args)
    start, cpu = time.perf_counter(), cpu_seconds()
    dataset = get_dataset(template, model_args, data_args, training_args, "sft", **module)["train_dataset"]
    return summary(dataset, time.perf_counter() - start, cpu_seconds() - cpu)


def worker(side: str, data_dir: str, workers: int) -> None:
    result = (run_lmf if side == "lmf" else run_lf)(data_dir, workers)
    print(RESULT + json.dumps(result), flush=True)


def launch(side: str, python: str, workspace: Path, data_dir: Path, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "LMF_CACHE_HOME": cache, "HF_DATASETS_CACHE": cache, "HF_HUB_OFFLINE": "1",
               "CUDA_VISIBLE_DEVICES": "", "TOKENIZERS_PARALLELISM": "false"}  # fmt: skip
        if side == "lmf":
            env["PYTHONPATH"] = str(ROOT)
        argv = [python, str(Path(__file__).resolve()), "--worker", side, "--data", str(data_dir), "--workers"]
        done = subprocess.run([*argv, str(workers)], cwd=workspace, env=env, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT)]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{side} run failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(lines[-1][len(RESULT) :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path)
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--lf-python", default=str(LF_PYTHON))
    parser.add_argument("--worker", choices=("lmf", "lf"))
    parser.add_argument("--data")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.data, int(args.workers))
        return
    if args.workspace is None:
        parser.error("--workspace is required")
    workspace = args.workspace.resolve()
    data_dir = workspace / "bench_data"
    if (
        not (data_dir / f"{DATASET}.json").exists()
        or len(json.loads((data_dir / f"{DATASET}.json").read_text())) != args.rows
    ):
        make_data(args.rows, data_dir)
    header = ("workers", "images", "lmf img/s", "LF img/s", "ratio", "p10 ratio", "lmf cores", "LF cores", "identical")
    print(" | ".join(header))
    for workers in [int(w) for w in args.workers.split(",")]:
        runs: dict[str, list[dict[str, Any]]] = {"lmf": [], "lf": []}
        for _ in range(args.repeat):
            runs["lf"].append(launch("lf", args.lf_python, workspace, data_dir, workers))
            runs["lmf"].append(launch("lmf", sys.executable, workspace, data_dir, workers))
        rates = {side: [r["images"] / r["seconds"] for r in found] for side, found in runs.items()}
        ratios = sorted(a / b for a, b in zip(rates["lmf"], rates["lf"], strict=True))
        cores = {side: statistics.median(r["cpu"] / r["seconds"] for r in found) for side, found in runs.items()}
        same = {r["sha256"] for found in runs.values() for r in found}
        row = (
            workers, runs["lmf"][0]["images"], f"{statistics.median(rates['lmf']):.1f}",
            f"{statistics.median(rates['lf']):.1f}", f"{statistics.median(ratios):.1f}x", f"{ratios[0]:.1f}x",
            f"{cores['lmf']:.2f}", f"{cores['lf']:.2f}", "yes" if len(same) == 1 else "NO",
        )  # fmt: skip
        print(" | ".join(str(cell) for cell in row), flush=True)


if __name__ == "__main__":
    main()
