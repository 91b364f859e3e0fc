"""Prediction throughput: ``lmf-engine train`` vs ``llamafactory-cli train`` (0.9.5) on one do_predict YAML.

Usage: python benchmarks/predict.py [--rows 200] [--batch 8] [--new-tokens 32] [--repeat 3] [--workdir DIR]

Both sides run the same YAML (LLaMA-Factory keys only): the tiny model (test tokenizer), template qwen,
``do_predict`` with ``predict_with_generate`` and greedy decoding (``do_sample: false``), ``max_new_tokens``,
``per_device_eval_batch_size``, on ``--rows`` rows of ../shared/lmf-data's alpaca_en_demo, float32 on the CPU with
one torch thread each (the two cores are shared; one thread keeps the comparison steady). Runs alternate sides,
fresh caches each. Per run: rows/s over ``predict_runtime`` (the prediction loop, from predict_results.json, as each
side measures it), the command's wall time, and whether the answers (generated_predictions.jsonl) and the BLEU/ROUGE
scores equal LLaMA-Factory's. The table gives medians and the ratio lmf / LLaMA-Factory.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "lmf-data"
LF_CLI = ROOT.parent / "lf-venv" / "bin" / "llamafactory-cli"
CONFIG = """\
model_name_or_path: {model}
stage: sft
do_train: false
do_predict: true
predict_with_generate: true
finetuning_type: lora
eval_dataset: alpaca_en_demo
dataset_dir: {data}
template: qwen
cutoff_len: 256
max_samples: {rows}
overwrite_cache: true
do_sample: false
max_new_tokens: {new_tokens}
per_device_eval_batch_size: {batch}
output_dir: {output_dir}
overwrite_output_dir: true
report_to: none
"""
SCORES = ("predict_bleu-4", "predict_rouge-1", "predict_rouge-2", "predict_rouge-l")


def run(side: str, name: str, folder: Path, model: Path, args: argparse.Namespace, lmf: list[str]) -> dict:
    out = folder / name
    shutil.rmtree(out, ignore_errors=True)
    config = folder / f"{name}.yaml"
    text = CONFIG.format(model=model, data=DATA, rows=args.rows, new_tokens=args.new_tokens, batch=args.batch,
                         output_dir=out)  # fmt: skip
    config.write_text(text, encoding="utf-8")
    caches = folder / "caches" / name
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": "", "DISABLE_VERSION_CHECK": "1"}
    env.update(OMP_NUM_THREADS="1", HF_DATASETS_CACHE=str(caches / "hf"), LMF_CACHE_HOME=str(caches / "lmf"))
    command = [str(args.lf_cli), "train", str(config)] if side == "lf" else [*lmf, "train", str(config)]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=folder, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0 or not (out / "predict_results.json").exists():
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")
    results = json.loads((out / "predict_results.json").read_text(encoding="utf-8"))
    answers = [json.loads(line) for line in (out / "generated_predictions.jsonl").read_text("utf-8").splitlines()]
    shutil.rmtree(caches, ignore_errors=True)
    return {"rows_s": len(answers) / results["predict_runtime"], "wall": wall, "answers": answers,
            "scores": {key: results[key] for key in SCORES}}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--lf-cli", type=Path, default=LF_CLI)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    if not args.lf_cli.exists():
        sys.exit(f"{args.lf_cli} is missing: make the reference venv with benchmarks/reference_venv.sh")
    engine = Path(sys.executable).parent / "lmf-engine"
    lmf = [str(engine)] if engine.exists() else [sys.executable, "-m", "lmf_engine"]
    folder = Path(tempfile.mkdtemp(prefix="lmf-predict-bench-")) if args.workdir is None else args.workdir.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        from lmf_engine.model.tiny import build_tiny_model

        model = folder / "tiny-qwen2"
        if not (model / "config.json").exists():
            build_tiny_model(model)
        runs: dict[str, list[dict]] = {"lmf": [], "lf": []}
        for i in range(args.repeat):
            for side in ("lmf", "lf") if i % 2 == 0 else ("lf", "lmf"):
                result = run(side, f"{side}-{i}", folder, model, args, lmf)
                runs[side].append(result)
                print(f"{side:<4} run {i}: {result['rows_s']:7.2f} rows/s  wall {result['wall']:6.2f} s", flush=True)
        same_answers = all(r["answers"] == runs["lf"][0]["answers"] for r in runs["lmf"] + runs["lf"])
        same_scores = all(abs(r["scores"][k] - runs["lf"][0]["scores"][k]) < 1e-4 for r in runs["lmf"] for k in SCORES)
        med = {side: statistics.median(r["rows_s"] for r in rs) for side, rs in runs.items()}
        wall = {side: statistics.median(r["wall"] for r in rs) for side, rs in runs.items()}
        print(f"\n{args.rows} rows, batch {args.batch}, {args.new_tokens} new tokens, greedy, median of {args.repeat}")
        print("| side | rows/s (predict loop) | wall s |\n|---|---:|---:|")
        print(f"| lmf-engine train | {med['lmf']:.2f} | {wall['lmf']:.2f} |")
        print(f"| llamafactory-cli train | {med['lf']:.2f} | {wall['lf']:.2f} |")
        print(f"| lmf / LF | {med['lmf'] / med['lf']:.2f}x | {wall['lf'] / wall['lmf']:.2f}x faster |")
        print(f"\nsame answers as LLaMA-Factory: {same_answers}; same BLEU/ROUGE (4 decimals): {same_scores}")
        print(f"scores: {json.dumps(runs['lmf'][0]['scores'])}")
    finally:
        if args.workdir is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
