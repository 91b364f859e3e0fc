"""Packing efficiency of lazy packing against eager packing (and LLaMA-Factory's, which eager equals row for row).

Usage: python benchmarks/lazy_packing.py [--rows 100000] [--cutoff-len 256] [--workdir DIR]

Two datasets: the demo workspace's sft data (``lmf-engine demo init``, alpaca + identity, 141 rows) and an
alpaca-style JSON Lines file of ``--rows`` rows generated from ../shared/lmf-data's alpaca_en_demo (as
benchmarks/first_step.py makes them), on the tiny model with an 8,000-entry tokenizer trained on that text. For each,
``packing: true`` with the default ``preprocessing_batch_size`` (1,000 rows per knapsack): the eager path packs the
split's rows batch by batch in order; lazy packing packs one epoch's shuffled order buffer by buffer. Efficiency is
real tokens over capacity (packs x cutoff_len); both pack the same rows (checked), so the efficiencies differ only
by the number of packs. The table also gives the number of packs lazy mode estimated before training (what the
trainer counts steps with) and the seconds each took to produce all packs.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import first_step  # noqa: E402
import train as bench  # noqa: E402


def real_tokens(packs: Any, pad_id: int) -> int:
    return sum(sum(1 for token in pack["input_ids"] if token != pad_id) for pack in packs)


def measure(config_path: Path, overrides: list[str]) -> dict[str, Any]:
    from lmf_engine.config import load_config
    from lmf_engine.data.lazy import prepare_training_data
    from lmf_engine.data.pipeline import prepare_data
    from lmf_engine.model.tokenizer import load_tokenizer

    config = load_config(config_path, ["packing=true", "do_train=true", "overwrite_cache=true", *overrides])
    cutoff = config.data.cutoff_len
    start = time.perf_counter()
    eager = prepare_data(config, use_cache=False).train
    eager_packs = [eager[i] for i in range(len(eager))]
    eager_s = time.perf_counter() - start
    start = time.perf_counter()
    prepared, reason = prepare_training_data(config, tokenizer=load_tokenizer(config), stage="sft")
    if reason is not None:
        raise SystemExit(f"lazy packing not used: {reason}")
    estimate = len(prepared.train)
    lazy_packs = list(prepared.train)
    lazy_s = time.perf_counter() - start
    pad = prepared.tokenizer.pad_token_id
    tokens = real_tokens(eager_packs, pad)
    if real_tokens(lazy_packs, pad) != tokens:
        raise SystemExit("lazy and eager packs hold different tokens")
    return {
        "eager": (len(eager_packs), tokens / (len(eager_packs) * cutoff), eager_s),
        "lazy": (len(lazy_packs), tokens / (len(lazy_packs) * cutoff), lazy_s),
        "estimate": estimate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100000, help="rows of the generated dataset")
    parser.add_argument("--cutoff-len", type=int, default=256)
    parser.add_argument("--workdir", type=Path, help="keep data and caches in this folder (default: a temporary one)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="lmf-lazy-packing-")) if args.workdir is None else args.workdir.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.update(LMF_CACHE_HOME=str(folder / "cache"), HF_DATASETS_CACHE=str(folder / "hf"), HF_HUB_OFFLINE="1")
    try:
        import datasets

        from lmf_engine.demo.workspace import init_demo_workspace
        from lmf_engine.model.tiny import build_tiny_model

        datasets.disable_progress_bars()
        demo = folder / "demo"
        if not demo.exists():
            init_demo_workspace(demo)
        model = folder / "tiny-qwen2"
        if not (model / "config.json").exists():
            build_tiny_model(model, **bench.tokenizer_options(8000))
        data = first_step.make_data(folder / "data", [args.rows])
        generated = folder / "generated.yaml"
        generated.write_text(
            first_step.CONFIG.format(
                model=model, dataset=f"rows_{args.rows}", data=data, workers=1, loader_workers=0,
                output_dir=folder / "out", steps=1,
            ),
            encoding="utf-8",
        )  # fmt: skip
        cutoff = f"cutoff_len={args.cutoff_len}"
        demo_keys = ["max_samples=null", "val_size=0", "eval_strategy=no", f"dataset_dir={demo / 'data'}"]
        results = {
            "demo (141 rows)": measure(
                demo / "configs" / "sft_lora.yaml", [cutoff, f"model_name_or_path={model}", *demo_keys]
            ),
            f"generated ({args.rows:,} rows)": measure(generated, [cutoff]),
        }
        header = "| data | eager packs | eager efficiency | lazy packs (estimated) | lazy efficiency |"
        print(f"\n{header} points | s eager / lazy |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name, r in results.items():
            (ep, ee, es), (lp, le, ls) = r["eager"], r["lazy"]
            print(
                f"| {name} | {ep:,} | {ee:.2%} | {lp:,} ({r['estimate']:,}) | {le:.2%} | {(le - ee) * 100:+.2f} | "
                f"{es:.1f} / {ls:.1f} |"
            )
    finally:
        if args.workdir is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
