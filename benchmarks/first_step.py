"""Time to the first optimizer step against dataset size: lmf lazy, lmf eager and ``llamafactory-cli train`` (0.9.5).

Usage: python benchmarks/first_step.py [--sizes 10000,100000,1000000] [--sides lazy,eager,lf] [--steps 60]
                                       [--workers 2] [--loader-workers 1] [--workdir DIR] [--lf-cli PATH]

Data: alpaca-style JSON Lines files of 10k, 100k and 1M rows, generated from ../shared/lmf-data's alpaca_en_demo
(each row numbered so no two are equal), about 200 tokens a row with the tiny model's tokenizer trained on that text
(8,000 entries). Every run is a LoRA sft of the tiny model (cutoff_len 256, batch 2, ``--steps`` steps,
``preprocessing_num_workers: --workers``, ``dataloader_num_workers: --loader-workers``) in a fresh process with
fresh caches (its own ``LMF_CACHE_HOME`` and ``HF_DATASETS_CACHE``, ``overwrite_cache: true``). lmf lazy runs the
very YAML LLaMA-Factory runs (lazy preprocessing is the default); lmf eager adds ``lazy_preprocessing: false``.

Measured, per run:

* first step: seconds from starting the command to the first line of trainer_log.jsonl (written after optimizer
  step 1 by both), polled every 2 ms;
* steps/s after the first: one over the median time between consecutive trainer_log.jsonl lines (one per step)
  and over their 10th percentile (a step when the machine was not busy elsewhere);
* peak RSS: the largest resident set (VmHWM) of the process that runs the training loop (LF's CLI process, our
  run's child), read from /proc until it ends; data-loader workers and our background encoder are other processes.

The targets (issue 16): lazy under 10 s to the first step at every size and within 1.5x between the smallest and
the largest; at 1M rows at least 20x faster than LLaMA-Factory; steps/s lazy >= 0.95x eager; peak RSS at 1M rows
lazy under half of eager. Sides run one after the other, in the order given, per size.
"""

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import train as bench  # noqa: E402  (benchmarks/train.py: the run timing and the tokenizer options)

CONFIG = """\
model_name_or_path: {model}
stage: sft
do_train: true
finetuning_type: lora
lora_target: all
dataset: {dataset}
dataset_dir: {data}
template: qwen
cutoff_len: 256
overwrite_cache: true
preprocessing_num_workers: {workers}
dataloader_num_workers: {loader_workers}
output_dir: {output_dir}
logging_steps: 1
save_steps: 100000
report_to: none
per_device_train_batch_size: 2
gradient_accumulation_steps: 1
max_steps: {steps}
bf16: false
"""
TIMEOUT_S = 4 * 3600


def make_data(folder: Path, sizes: list[int]) -> Path:
    """``rows_N.jsonl`` for each size and their dataset_info.json, in ``folder``."""
    source = json.loads((bench.DATA / "alpaca_en_demo.json").read_text(encoding="utf-8"))
    folder.mkdir(parents=True, exist_ok=True)
    info = {}
    for size in sizes:
        path = folder / f"rows_{size}.jsonl"
        info[f"rows_{size}"] = {"file_name": path.name}
        if path.exists():
            continue
        with open(path.with_suffix(".tmp"), "w", encoding="utf-8") as out:
            for i in range(size):
                row = source[i % len(source)]
                line = {"instruction": f"{row['instruction']} (#{i})", "input": row["input"], "output": row["output"]}
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
        path.with_suffix(".tmp").rename(path)
    (folder / "dataset_info.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
    return folder


def peak_rss(pid_of: Any, done: threading.Event, out: list[int]) -> None:
    """Keep the training process's VmHWM (kB) in ``out[0]`` until ``done``."""
    pid = None
    while not done.is_set():
        pid = pid or pid_of()
        if pid:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        out[0] = max(out[0], int(line.split()[1]))
            except (FileNotFoundError, ProcessLookupError):
                pass
        time.sleep(0.05)


def run_side(side: str, size: int, args: argparse.Namespace, folder: Path, model: Path, lmf: list[str]) -> dict:
    name = f"{side}-{size}"
    run_dir = folder / name
    shutil.rmtree(run_dir, ignore_errors=True)
    text = CONFIG.format(
        model=model,
        dataset=f"rows_{size}",
        data=folder / "data",
        workers=args.workers,
        loader_workers=args.loader_workers,
        output_dir=run_dir,
        steps=args.steps,
    )
    if side == "eager":
        text += "lazy_preprocessing: false\n"
    config = folder / f"{name}.yaml"
    config.write_text(text, encoding="utf-8")
    caches = folder / "caches" / name
    shutil.rmtree(caches, ignore_errors=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": "", "DISABLE_VERSION_CHECK": "1"}
    env.update(HF_DATASETS_CACHE=str(caches / "hf"), LMF_CACHE_HOME=str(caches / "lmf"), OMP_NUM_THREADS="1")
    command = [str(args.lf_cli), "train", str(config)] if side == "lf" else [*lmf, "train", str(config)]
    rss = [0]
    done = threading.Event()
    kind = "lf" if side == "lf" else "lmf"

    def watch(proc: subprocess.Popen[bytes]) -> None:
        pid_of = functools.partial(bench.trainer_pid, kind, proc, run_dir)
        threading.Thread(target=peak_rss, args=(pid_of, done, rss), daemon=True).start()

    try:
        run = bench.timed_run(command, kind, run_dir, env, folder / f"{name}.log", 10**9, on_start=watch)
    finally:
        done.set()
    run["rss_mb"] = rss[0] / 1024
    shutil.rmtree(caches, ignore_errors=True)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="rows of the generated datasets")
    parser.add_argument("--sides", default="lazy,eager,lf", help="which of lazy, eager, lf to run, in this order")
    parser.add_argument("--steps", type=int, default=60, help="optimizer steps per run")
    parser.add_argument("--workers", type=int, default=2, help="preprocessing_num_workers of every side")
    parser.add_argument("--loader-workers", type=int, default=1, help="dataloader_num_workers of every side")
    parser.add_argument("--lf-cli", type=Path, default=bench.LF_CLI, help="llamafactory-cli of the reference venv")
    parser.add_argument("--workdir", type=Path, help="keep data and runs in this folder (default: a temporary one)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    sides = args.sides.split(",")
    if "lf" in sides and not args.lf_cli.exists():
        sys.exit(f"{args.lf_cli} is missing: make the reference venv with benchmarks/reference_venv.sh")
    bench.RUN_TIMEOUT_S = TIMEOUT_S
    engine = Path(sys.executable).parent / "lmf-engine"
    lmf = [str(engine)] if engine.exists() else [sys.executable, "-m", "lmf_engine"]
    folder = Path(tempfile.mkdtemp(prefix="lmf-first-step-")) if args.workdir is None else args.workdir.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        from lmf_engine.model.tiny import build_tiny_model

        model = folder / "tiny-qwen2"
        if not (model / "config.json").exists():
            build_tiny_model(model, **bench.tokenizer_options(8000))
        make_data(folder / "data", sizes)
        runs: dict[tuple[str, int], dict[str, Any]] = {}
        for size in sizes:
            for side in sides:
                run = run_side(side, size, args, folder, model, lmf)
                runs[side, size] = run
                step_s, fast_s = run["step_s"], run["fast_step_s"]
                print(
                    f"{side:<6} {size:>9,} rows: first step {run['first']:8.2f} s  wall {run['wall']:8.2f} s  "
                    f"median step {step_s * 1000:6.1f} ms  p10 {fast_s * 1000:6.1f} ms  peak RSS "
                    f"{run['rss_mb']:7.0f} MB  loss {run['loss']}",
                    flush=True,
                )
        print_table(runs, sizes, sides)
    finally:
        if args.workdir is None:
            shutil.rmtree(folder, ignore_errors=True)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def print_table(runs: dict[tuple[str, int], dict[str, Any]], sizes: list[int], sides: list[str]) -> None:
    print("\n| rows | " + " | ".join(f"{s} first step (s)" for s in sides) + " | LF / lazy | eager / lazy |")
    print("|---:|" + "---:|" * (len(sides) + 2))
    for size in sizes:
        cells = [f"{runs[s, size]['first']:.2f}" for s in sides]
        lazy = runs.get(("lazy", size))
        lf = runs.get(("lf", size))
        eager = runs.get(("eager", size))
        vs_lf = ratio(lf["first"], lazy["first"]) if lf and lazy else "-"
        vs_eager = ratio(eager["first"], lazy["first"]) if eager and lazy else "-"
        print(f"| {size:,} | " + " | ".join(cells) + f" | {vs_lf} | {vs_eager} |")
    if "lazy" in sides and len(sizes) > 1:
        first = [runs["lazy", s]["first"] for s in sizes]
        print(f"\nlazy, largest over smallest: {ratio(first[-1], first[0])} (target <= 1.5x, every size < 10 s)")
    if "lazy" in sides and "eager" in sides:
        header = "| rows | lazy steps/s (median, p10) | eager steps/s (median, p10) | lazy / eager |"
        print(f"\n{header} peak RSS lazy / eager (MB) |")
        print("|---:|---:|---:|---:|---:|")
        for size in sizes:
            lazy, eager = runs["lazy", size], runs["eager", size]
            rates = [1 / lazy["step_s"], 1 / lazy["fast_step_s"], 1 / eager["step_s"], 1 / eager["fast_step_s"]]
            print(
                f"| {size:,} | {rates[0]:.1f}, {rates[1]:.1f} | {rates[2]:.1f}, {rates[3]:.1f} | "
                f"{ratio(rates[0], rates[2])}, {ratio(rates[1], rates[3])} | "
                f"{lazy['rss_mb']:.0f} / {eager['rss_mb']:.0f} = {ratio(lazy['rss_mb'], eager['rss_mb'])} |"
            )
    for side in sides:
        losses = sorted({str(runs[side, size]["loss"]) for size in sizes})
        print(f"{side}: train_loss per size {', '.join(losses)}")


if __name__ == "__main__":
    main()
