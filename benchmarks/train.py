"""A short LoRA sft of the tiny model: ``lmf-engine train`` beside ``llamafactory-cli train`` (0.9.5), one YAML.

Usage: python benchmarks/train.py [--steps 20] [--repeat 3] [--threads 1] [--cutoff-len 256] [--no-lf-packing]
                                  [--vocab-size N] [--workdir DIR] [--lf-cli ../lf-venv/bin/llamafactory-cli]

Data: ../shared/lmf-data alpaca_en_demo + identity, template qwen, cutoff_len 256, batch 2 (no accumulation), LoRA
on all linear layers, ``--steps`` optimizer steps, float32 on the CPU, LLaMA-Factory's final save. The YAML turns
shuffling off (``disable_shuffling``), so both sides train on the same rows in the same order and the rows a run
consumed are known. Each run is a fresh process with fresh ``datasets`` and lmf caches, in the order lmf, LF, lmf
packed, LF packed (reversed on the next repeat), timed by this script:

* wall time: from starting the command to its exit. Ours is the real CLI: it validates the config, starts the
  detached training child in its own session and follows it to the end.
* time to first step: from starting the command to the first line of the run's trainer_log.jsonl, which both
  write after optimizer step 1 (``logging_steps: 1``); the file is polled every 2 ms.
* CPU time: user + system seconds of the command and every process under it (less sensitive to a busy machine).
* steps/s: ``train_steps_per_second`` of the run's all_results.json (steps over the training loop's run time).
* steps/s of the median step: one over the median time between consecutive trainer_log.jsonl lines (one per step),
  as this script sees them appear. A burst of another process on the machine stretches a few steps and moves the
  loop's total time, but hardly the median step.
* steps/s of the 10th percentile step: the same from the fastest tenth of the steps, those the machine ran at its
  quickest; other processes only ever add to a step.
* CPU ms per step: CPU time of the process that runs the loop (LF's CLI process, our run's child), read from /proc
  when the first and the last step's lines appear, over the steps between. Time spent waiting for a core does not
  count, so this is the least noisy of the three on a shared machine.
* tokens/s, packing off and on: non-pad tokens of the rows the steps consumed (counted on the encoded data) over
  the training loop's run time (``train_runtime``).

The phase table splits each side's wall time using its own records (ours: events.jsonl; LF: the timestamps of its
log lines, millisecond ones from transformers): process start and imports, data + model + trainer set-up, the first
step, the other steps, and what follows the loop (final save, exit). ``same loss`` says whether both sides reported
the same train_loss, i.e. trained the same rows the same way. Medians of ``--repeat``.

Both sides run torch on ``--threads`` threads (default 1). A step of the tiny model takes about 30 ms; with torch's
default of one thread per core, any other process busy on the machine makes its threads wait for each other and a
step can take 50 times longer, which swamps the comparison on a shared machine. ``--threads 0`` leaves torch's choice.
How much packing gains depends on how far rows fall short of ``cutoff_len``. The test tokenizer (512 entries
learnt from a few sentences) cuts alpaca into near-bytes: most rows reach the cutoff, so a packed batch holds only
about 15 % more real tokens than a padded one, for LF as for us. ``--vocab-size 8000`` trains the tiny model's
tokenizer on the benchmark's own text instead, which gives rows as long as a real tokenizer's (mean 190 tokens
against 171 for DeepSeek-V3's 129k tokenizer). The gain has two bounds: the real tokens a packed batch holds over a
padded one's (the gain if a step cost the same whatever its length: 1.49x with ``--vocab-size 8000``, 1.16x with the
test tokenizer, over 200 steps) and, where a step's cost grows with its length as on a CPU, the padded batches'
positions over their real tokens (1.27x and 1.13x).
With 20 steps the loop lasts about half a second, so steps/s moves by 10-20 % from run to run; ``--steps 200``
steadies it.
"""

import argparse
import functools
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "lmf-data"
LF_CLI = ROOT.parent / "lf-venv" / "bin" / "llamafactory-cli"
LF_STUBS = "/tmp/lf-stubs"
BATCH = 2
POLL_S = 0.002
RUN_TIMEOUT_S = 900
CONFIG = """\
model_name_or_path: {model}
stage: sft
do_train: true
finetuning_type: lora
lora_target: all
dataset: alpaca_en_demo,identity
dataset_dir: {data}
template: qwen
cutoff_len: {cutoff}
packing: {packing}
disable_shuffling: true
overwrite_cache: true
output_dir: {output_dir}
logging_steps: 1
save_steps: 100000
report_to: none
per_device_train_batch_size: {batch}
gradient_accumulation_steps: 1
max_steps: {steps}
bf16: false
"""
# "[INFO|2026-11-27 01:47:40] name:1 >> ..." (LLaMA-Factory) or "[INFO|file.py:1] 2026-11-27 01:47:40,969 >> ..."
LOG_TIME = re.compile(r"^\[\w+\|(?:[^\]]*\] )?(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:,(\d{3}))?")
PHASES = ("start + imports", "data + model + trainer", "first step", "other steps", "after the loop: save, exit")


def write_config(folder: Path, model: Path, name: str, args: argparse.Namespace, packing: bool) -> Path:
    """The YAML both CLIs run, its output_dir ``folder/name``."""
    text = CONFIG.format(
        model=model,
        data=DATA,
        cutoff=args.cutoff_len,
        packing=str(packing).lower(),
        output_dir=folder / name,
        batch=BATCH,
        steps=args.steps,
    )
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (its threads included), from /proc; NaN once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def trainer_pid(side: str, proc: subprocess.Popen[bytes], run_dir: Path) -> int | None:
    """The process that runs the training loop: LF trains in the CLI's own process, ours in the run's child."""
    if side == "lf":
        return proc.pid
    try:
        return json.loads((run_dir / "run.json").read_text(encoding="utf-8")).get("pid")
    except (FileNotFoundError, ValueError):
        return None


def watch_log(
    path: Path, start: float, done: threading.Event, pid: Callable[[], int | None], seen_at: list[tuple[float, float]]
) -> None:
    """Append to ``seen_at`` (seconds from ``start``, CPU seconds of the training process) when each line of ``path``
    appears (polled every POLL_S), until ``done`` is set."""
    seen = 0
    trainer: int | None = None
    while not done.is_set():
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size > seen:
            now = time.perf_counter() - start
            trainer = trainer or pid()
            cpu = process_cpu(trainer) if trainer else float("nan")
            with open(path, "rb") as handle:
                handle.seek(seen)
                chunk = handle.read(size - seen)
            complete = chunk.rfind(b"\n") + 1
            seen_at.extend([(now, cpu)] * chunk[:complete].count(b"\n"))
            seen += complete
        time.sleep(POLL_S)


def step_times(arrivals: list[float]) -> tuple[float, float]:
    """The median and the 10th percentile (a step when the machine is free) of the seconds between consecutive
    trainer_log lines, one line per optimizer step."""
    gaps = sorted(b - a for a, b in pairwise(arrivals) if b > a)
    return (statistics.median(gaps), gaps[len(gaps) // 10]) if gaps else (float("nan"), float("nan"))


def cpu_per_step(cpu: list[float]) -> float:
    """CPU seconds the training process spent per step between the first and the last step's lines."""
    return (cpu[-1] - cpu[0]) / (len(cpu) - 1) if len(cpu) > 1 else float("nan")


def read_results(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "all_results.json").read_text(encoding="utf-8"))


def timed_run(
    command: list[str],
    side: str,
    run_dir: Path,
    env: dict[str, str],
    log: Path,
    steps: int,
    on_start: Callable[[subprocess.Popen[bytes]], None] | None = None,
) -> dict[str, Any]:
    """Run ``command`` to its end; its wall and CPU time, time to the first trainer_log.jsonl line, per-step timings,
    its results. ``on_start`` is called with the process once it is started."""
    seen_at: list[tuple[float, float]] = []
    done = threading.Event()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start_unix, start = time.time(), time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command, env=env, cwd=run_dir.parent, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
        if on_start is not None:
            on_start(proc)
        pid = functools.partial(trainer_pid, side, proc, run_dir)
        watcher = threading.Thread(target=watch_log, args=(run_dir / "trainer_log.jsonl", start, done, pid, seen_at))
        watcher.start()
        try:
            code = proc.wait(timeout=RUN_TIMEOUT_S)
        finally:
            done.set()
            watcher.join()
            if proc.returncode is None:
                proc.kill()
                proc.wait()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code != 0 or not (run_dir / "all_results.json").exists():
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"{' '.join(command)} failed (exit code {code}); last output:\n{tail}")
    results = read_results(run_dir)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    step_s, fast_step_s = step_times([at for at, _ in seen_at[:steps]])
    return {
        "wall": wall,
        "first": seen_at[0][0] if seen_at else float("nan"),
        "step_s": step_s,
        "fast_step_s": fast_step_s,
        "cpu_step_s": cpu_per_step([cpu for _, cpu in seen_at[:steps]]),
        "cpu": cpu,
        "runtime": results["train_runtime"],
        "steps_s": results["train_steps_per_second"],
        "loss": results.get("train_loss"),
        "start_unix": start_unix,
        "end_unix": start_unix + wall,
    }


def lmf_marks(run_dir: Path) -> tuple[float | None, float | None]:
    """Unix times of our child's "running" state (imports done) and of the loop's start (progress at step 0)."""
    running = loop = None
    for line in (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if running is None and event.get("kind") == "state" and event.get("state") == "running":
            running = event["t"]
        if loop is None and event.get("kind") == "progress" and event.get("step") == 0:
            loop = event["t"]
    return running, loop


def lf_marks(log: Path) -> tuple[float | None, float | None]:
    """Unix times of LLaMA-Factory's first millisecond-stamped log line (its imports are done by then: the first
    lines, from argument parsing, carry whole seconds only) and of transformers' "***** Running training *****"."""
    first = loop = None
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        match = LOG_TIME.match(line)
        if match is None or match.group(2) is None:
            continue
        stamp = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").timestamp() + int(match.group(2)) / 1000
        first = stamp if first is None else first
        if "Running training" in line:
            loop = stamp
            break
    return first, loop


def phases(run: dict[str, Any], marks: tuple[float | None, float | None]) -> dict[str, float]:
    """Seconds of each of PHASES in one run (NaN where a mark is missing); together they make the wall time."""
    imports, loop = marks
    nan = float("nan")
    start, first = run["start_unix"], run["start_unix"] + run["first"]
    return {
        PHASES[0]: imports - start if imports else nan,
        PHASES[1]: loop - imports if imports and loop else nan,
        PHASES[2]: first - loop if loop else nan,
        PHASES[3]: loop + run["runtime"] - first if loop else nan,
        PHASES[4]: run["end_unix"] - loop - run["runtime"] if loop else nan,
    }


def consumed_tokens(config_path: Path, steps: int, workdir: Path) -> int:
    """Non-pad tokens of the rows ``steps`` batches take from the encoded data in order (shuffling is off)."""
    os.environ["LMF_CACHE_HOME"] = str(workdir / "caches" / "count" / "lmf")
    os.environ["HF_DATASETS_CACHE"] = str(workdir / "caches" / "count" / "hf")
    import datasets

    from lmf_engine.config import load_config
    from lmf_engine.data.pipeline import prepare_data

    datasets.disable_progress_bars()
    prepared = prepare_data(load_config(config_path), use_cache=False)
    pad = prepared.tokenizer.pad_token_id
    rows = prepared.train["input_ids"]
    return sum(sum(1 for t in rows[i % len(rows)] if t != pad) for i in range(steps * BATCH))


def tokenizer_options(vocab_size: int | None) -> dict[str, Any]:
    """``build_tiny_model`` options: the test tokenizer, or one of ``vocab_size`` entries trained on the data."""
    if vocab_size is None:
        return {}
    texts = []
    for name in ("alpaca_en_demo.json", "identity.json"):
        for row in json.loads((DATA / name).read_text(encoding="utf-8")):
            texts.append("\n".join(str(row.get(key) or "") for key in ("instruction", "input", "output")))
    return {"vocab_size": vocab_size, "corpus": texts}


def median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def print_tables(
    args: argparse.Namespace, runs: dict[tuple[str, bool], list[dict[str, Any]]], tokens: dict[bool, int]
) -> None:
    lmf, lf = runs["lmf", False], runs["lf", False]
    threads = f" ({args.threads} threads)" if args.threads else ""
    vocab = "test tokenizer" if args.vocab_size is None else f"tokenizer of {args.vocab_size:,} trained on the data"
    print(
        f"\nLoRA sft of the tiny Qwen2 model ({vocab}), alpaca_en_demo + identity, template qwen, "
        f"cutoff_len {args.cutoff_len}, "
        f"batch {BATCH}, {args.steps} steps, float32 on {os.cpu_count()} CPUs{threads}; median of {args.repeat}"
    )
    print("ratio above 1 = lmf better (times: LF / lmf, rates: lmf / LF)\n")
    print(f"{'measure':<32} {'lmf':>10} {'LF 0.9.5':>10} {'ratio':>8}")
    for label, key in (("whole wall time (s)", "wall"), ("time to first step (s)", "first"), ("CPU time (s)", "cpu")):
        ours, theirs = median(lmf, key), median(lf, key)
        print(f"{label:<32} {ours:>10.2f} {theirs:>10.2f} {theirs / ours:>7.2f}x")
    ours, theirs = median(lmf, "steps_s"), median(lf, "steps_s")
    print(f"{'steps/s in the training loop':<32} {ours:>10.3f} {theirs:>10.3f} {ours / theirs:>7.2f}x")
    for packing in (False, True):
        if not runs["lf", packing]:
            continue
        suffix = ", packed" if packing else ""
        for key, label in (("step_s", "steps/s of the median step"), ("fast_step_s", "steps/s of the 10th pct step")):
            ours, theirs = (1 / median(runs[side, packing], key) for side in ("lmf", "lf"))
            print(f"{label + suffix:<32} {ours:>10.3f} {theirs:>10.3f} {ours / theirs:>7.2f}x")
        ours, theirs = (1000 * median(runs[side, packing], "cpu_step_s") for side in ("lmf", "lf"))
        print(f"{'CPU ms per step' + suffix:<32} {ours:>10.2f} {theirs:>10.2f} {theirs / ours:>7.2f}x")
    rates: dict[tuple[str, bool], float] = {}
    for packing in (False, True):
        for side in ("lmf", "lf"):
            if runs[side, packing]:
                rates[side, packing] = tokens[packing] / median(runs[side, packing], "runtime")
        label = f"tokens/s, packing {'on' if packing else 'off'}"
        ours, theirs = rates["lmf", packing], rates.get(("lf", packing))
        cells = f"{theirs:>10,.0f} {ours / theirs:>7.2f}x" if theirs else f"{'-':>10} {'-':>8}"
        print(f"{label:<32} {ours:>10,.0f} {cells}")
    gains = {side: rates[side, True] / rates[side, False] for side in ("lmf", "lf") if (side, True) in rates}
    theirs_gain = f"{gains['lf']:>9.2f}x" if "lf" in gains else f"{'-':>10}"
    print(f"{'packing on / off, tokens/s':<32} {gains['lmf']:>9.2f}x {theirs_gain}   (target: lmf >= 1.50x)")
    print(f"tokens the {args.steps} steps consumed: {tokens[False]:,} (packing off), {tokens[True]:,} (packing on)")
    same = [
        abs(a["loss"] - b["loss"]) < 1e-4
        for packing in (False, True)
        for a, b in zip(runs["lmf", packing], runs["lf", packing], strict=False)
    ]
    print(f"same train_loss as LF in every pair of runs: {'yes' if all(same) else 'NO'}")
    print(f"\n{'where the time goes (median s)':<32} {'lmf':>10} {'LF 0.9.5':>10}")
    split = {side: [run["phases"] for run in runs[side, False]] for side in ("lmf", "lf")}
    for name in PHASES:
        cells = " ".join(f"{statistics.median(p[name] for p in split[side]):>10.2f}" for side in ("lmf", "lf"))
        print(f"{name:<32} {cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20, help="optimizer steps per run")
    parser.add_argument("--cutoff-len", type=int, default=256, help="cutoff_len of the runs")
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell; the tables show medians")
    parser.add_argument("--lf-cli", type=Path, default=LF_CLI, help="llamafactory-cli of the reference venv")
    parser.add_argument("--no-lf-packing", action="store_true", help="skip LLaMA-Factory's packing runs")
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of both sides; 0: torch's choice")
    parser.add_argument("--workdir", type=Path, help="keep the runs in this folder (default: a temporary one)")
    parser.add_argument(
        "--vocab-size",
        type=int,
        help="train the tiny model's tokenizer on the benchmark's data with this many entries (default: the test "
        "tokenizer, 512 entries trained on a few sentences, which cuts alpaca into near-bytes)",
    )
    args = parser.parse_args()
    if not (DATA / "alpaca_en_demo.json").exists():
        sys.exit(f"{DATA} is missing: this benchmark needs ../shared/lmf-data")
    if not args.lf_cli.exists():
        sys.exit(f"{args.lf_cli} is missing: make the reference venv with benchmarks/reference_venv.sh")
    sys.path.insert(0, str(ROOT))
    engine = Path(sys.executable).parent / "lmf-engine"
    lmf_cli = [str(engine)] if engine.exists() else [sys.executable, "-m", "lmf_engine"]
    folder = Path(tempfile.mkdtemp(prefix="lmf-train-bench-")) if args.workdir is None else args.workdir.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        from lmf_engine.model.tiny import build_tiny_model

        model = build_tiny_model(folder / "tiny-qwen2", **tokenizer_options(args.vocab_size))
        base = {**os.environ, "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": "", "DISABLE_VERSION_CHECK": "1"}
        if args.threads:
            base.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
        load_before = os.getloadavg()[0]
        tokens = {
            p: consumed_tokens(write_config(folder, model, f"count-{p}", args, p), args.steps, folder)
            for p in (False, True)
        }
        runs: dict[tuple[str, bool], list[dict[str, Any]]] = {(s, p): [] for s in ("lmf", "lf") for p in (False, True)}
        for i in range(args.repeat):
            order = [
                (s, p) for p in (False, True) for s in ("lmf", "lf") if not (s == "lf" and p and args.no_lf_packing)
            ]
            for side, packing in order if i % 2 == 0 else order[::-1]:
                name = f"{side}-{'packed' if packing else 'plain'}-{i}"
                config = write_config(folder, model, name, args, packing)
                env = {**base, "HF_DATASETS_CACHE": str(folder / "caches" / name / "hf")}
                if side == "lf":
                    env["PYTHONPATH"] = os.pathsep.join(filter(None, [LF_STUBS, env.get("PYTHONPATH")]))
                    command = [str(args.lf_cli), "train", str(config)]
                else:
                    env["LMF_CACHE_HOME"] = str(folder / "caches" / name / "lmf")
                    command = [*lmf_cli, "train", str(config)]
                log = folder / f"{name}.log"
                run = timed_run(command, side, folder / name, env, log, args.steps)
                run["phases"] = phases(run, lmf_marks(folder / name) if side == "lmf" else lf_marks(log))
                runs[side, packing].append(run)
                print(
                    f"{name:<16} wall {run['wall']:6.2f} s  first step {run['first']:6.2f} s  "
                    f"loop {run['runtime']:6.2f} s  {run['steps_s']:.3f} steps/s  median step "
                    f"{run['step_s'] * 1000:.1f} ms  p10 {run['fast_step_s'] * 1000:.1f} ms  "
                    f"CPU {run['cpu_step_s'] * 1000:.1f} ms/step",
                    flush=True,
                )
        print_tables(args, runs, tokens)
        print(f"\nload average (1 min) before the runs {load_before:.2f}, after {os.getloadavg()[0]:.2f}")
    finally:
        if args.workdir is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
