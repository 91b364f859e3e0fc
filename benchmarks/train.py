"""A 20-step LoRA sft of the tiny model: ``lmf-engine train`` beside ``llamafactory-cli train`` (0.9.5), same YAML.

Usage: python benchmarks/train.py [--steps 20] [--repeat 3] [--lf-cli ../lf-venv/bin/llamafactory-cli]

Data: ../shared/lmf-data alpaca_en_demo + identity, template qwen, cutoff_len 256, batch 2, LoRA on all linear
layers. Every run is a fresh process with fresh caches, timed by this script:

* wall: from starting the command to its exit (ours: the CLI starts the detached run and follows it to the end);
* first step: from starting the command to the first line of the run's trainer_log.jsonl (polled every 10 ms);
* steps/s: ``train_steps_per_second`` of the run's all_results.json (inside the training loop);
* tokens/s, packing off and on (ours): non-pad tokens of the rows the steps consumed over ``train_runtime``.

Medians of ``--repeat``; times are shown as LF/lmf (above 1: we are faster), steps/s as lmf/LF.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "lmf-data"
LF_CLI = ROOT.parent / "lf-venv" / "bin" / "llamafactory-cli"


def write_config(folder: Path, model: Path, name: str, steps: int, packing: bool) -> Path:
    text = f"""model_name_or_path: {model}
stage: sft
do_train: true
finetuning_type: lora
lora_rank: 8
lora_target: all
dataset: alpaca_en_demo,identity
dataset_dir: {DATA}
template: qwen
cutoff_len: 256
packing: {str(packing).lower()}
overwrite_cache: true
output_dir: {folder / name}
overwrite_output_dir: true
logging_steps: 1
save_steps: 100000
report_to: none
per_device_train_batch_size: 2
gradient_accumulation_steps: 1
learning_rate: 1.0e-4
max_steps: {steps}
bf16: false
seed: 42
"""
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def timed_run(command: list[str], output_dir: Path, env: dict[str, str]) -> dict[str, float]:
    """Wall time, time to the first trainer_log.jsonl line, and the run's all_results.json."""
    first: list[float] = []
    log = output_dir / "trainer_log.jsonl"
    start = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=output_dir.parent)

    def watch() -> None:
        while proc.poll() is None and not first:
            if log.exists() and log.read_text(encoding="utf-8").strip():
                first.append(time.perf_counter() - start)
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - start
    watcher.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({proc.returncode}): {err.decode()[-3000:]}")
    results = json.loads((output_dir / "all_results.json").read_text(encoding="utf-8"))
    return {
        "wall": wall,
        "first": first[0] if first else float("nan"),
        "steps_s": results["train_steps_per_second"],
        "runtime": results["train_runtime"],
    }


def mean_row_tokens(config_path: Path, workdir: Path) -> float:
    """Mean non-pad tokens per encoded training row of a config (what one row of a batch carries)."""
    from lmf_engine.config import load_config
    from lmf_engine.data.pipeline import prepare_data

    os.environ["LMF_CACHE_HOME"] = str(workdir / "cache")
    prepared = prepare_data(load_config(config_path), use_cache=False)
    pad = prepared.tokenizer.pad_token_id
    counts = [sum(1 for t in ids if t != pad) for ids in prepared.train["input_ids"]]
    return statistics.mean(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lf-cli", type=Path, default=LF_CLI)
    args = parser.parse_args()
    if not (DATA / "alpaca_en_demo.json").exists():
        sys.exit(f"{DATA} is missing: this benchmark needs ../shared/lmf-data")

    from lmf_engine.model.tiny import build_tiny_model

    lmf_cli = [sys.executable, "-m", "lmf_engine", "train"]
    runs: dict[str, list[dict[str, float]]] = {"lmf": [], "lf": [], "lmf_packed": []}
    with tempfile.TemporaryDirectory(prefix="lmf-train-bench-") as tmp:
        folder = Path(tmp)
        model = build_tiny_model(folder / "tiny-qwen2")
        base_env = {**os.environ, "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": "", "DISABLE_VERSION_CHECK": "1"}
        for i in range(args.repeat):
            for side, packing in (("lmf", False), ("lf", False), ("lmf_packed", True)):
                name = f"{side}-{i}"
                config = write_config(folder, model, name, args.steps, packing)
                env = {
                    **base_env,
                    "HF_DATASETS_CACHE": str(folder / f"hf-{name}"),
                    "LMF_CACHE_HOME": str(folder / name),
                }
                command = [str(args.lf_cli), "train", str(config)] if side == "lf" else [*lmf_cli, str(config)]
                if side == "lf":
                    env["PYTHONPATH"] = "/tmp/lf-stubs"
                runs[side].append(timed_run(command, folder / name, env))
        row_tokens = {
            packed: mean_row_tokens(write_config(folder, model, f"count-{packed}", args.steps, packed), folder)
            for packed in (False, True)
        }

    def med(side: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[side])

    print(f"LoRA sft of the tiny model, {args.steps} steps, batch 2, cutoff 256, median of {args.repeat}, CPU")
    print(f"{'measure':<28} {'lmf':>10} {'LF 0.9.5':>10} {'ratio':>8}")
    for label, key in (("wall time (s)", "wall"), ("time to first step (s)", "first")):
        lmf, lf = med("lmf", key), med("lf", key)
        print(f"{label:<28} {lmf:>10.2f} {lf:>10.2f} {lf / lmf:>7.2f}x")
    lmf, lf = med("lmf", "steps_s"), med("lf", "steps_s")
    print(f"{'steps/s in the loop':<28} {lmf:>10.2f} {lf:>10.2f} {lmf / lf:>7.2f}x")
    batch_tokens = {packed: row_tokens[packed] * 2 * args.steps for packed in (False, True)}
    plain = batch_tokens[False] / med("lmf", "runtime")
    packed = batch_tokens[True] / med("lmf_packed", "runtime")
    print(f"{'tokens/s, packing off (lmf)':<28} {plain:>10.0f}")
    print(f"{'tokens/s, packing on (lmf)':<28} {packed:>10.0f} {'':>10} {packed / plain:>7.2f}x (on/off)")


if __name__ == "__main__":
    main()
