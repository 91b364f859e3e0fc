"""Open a long run's history: the first full read, a refresh after 50 more steps, and the memory it takes.

Usage: python benchmarks/run_history.py [--steps 10000 100000] [--eval-every 500] [--repeat 3]

For each size two folders are written with ``tests/fixtures/fake_runs.py``:

- an lmf run (running): a progress and a log event per step in events.jsonl (two lines a step), trainer_log.jsonl,
  stdout.log, a system sample every 10 steps in system.jsonl, an evaluation every ``--eval-every`` steps;
- a LLaMA-Factory output folder: a trainer_log.jsonl line per step (and the evaluations).

Each measurement runs in a fresh process, so its memory is its own:

- history: ``RunHistory(folder).refresh()`` (first refresh), then five times 50 steps appended and ``refresh()``
  again (the median); RSS after the first refresh less the RSS before it, and the process's peak RSS;
- naive: ``json.loads`` of every line of the files RunHistory reads (events.jsonl and system.jsonl of a run,
  trainer_log.jsonl of a LLaMA-Factory folder) into lists: a reader without offsets, arrays or orjson.

"read MB" is the size of those files. Times are medians of ``--repeat`` processes (each history process works on
its own copy of the folder, since it appends steps); naive/first is the ratio of the two read times.
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN_FILES = ("events.jsonl", "system.jsonl")
LF_FILES = ("trainer_log.jsonl",)

PROBE = """
import json, os, resource, sys, time
sys.path.insert(0, {tests!r})
def rss_mb():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
folder = sys.argv[1]
{body}
result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""

HISTORY = """
import statistics
from pathlib import Path
from fixtures.fake_runs import append_steps
from lmf_engine.runs.history import RunHistory
steps = int(sys.argv[2])
history = RunHistory(folder)
before = rss_mb()
start = time.perf_counter()
history.refresh()
first = time.perf_counter() - start
result = {"first_s": first, "rss_mb": rss_mb() - before}
increments = []
for round_ in range(5):
    append_steps(Path(folder), steps + 1 + 50 * round_, 50)
    start = time.perf_counter()
    assert history.refresh()
    increments.append(time.perf_counter() - start)
assert history.progress.step == steps + 250, history.progress
result["increment_ms"] = statistics.median(increments) * 1000
"""

NAIVE = """
names = sys.argv[2:]
before = rss_mb()
start = time.perf_counter()
lists = []
for name in names:
    with open(os.path.join(folder, name), encoding="utf-8") as handle:
        lists.append([json.loads(line) for line in handle])
result = {"first_s": time.perf_counter() - start, "rss_mb": rss_mb() - before}
"""


def probe(body: str, *args: str) -> dict[str, float]:
    code = PROBE.format(tests=str(ROOT / "tests"), body=body)
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_of(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def measure(folder: Path, files: tuple[str, ...], steps: int, repeat: int, work: Path) -> dict[str, float]:
    history, naive = [], []
    for index in range(repeat):
        copy = work / f"copy{index}"
        shutil.copytree(folder, copy)
        history.append(probe(HISTORY, str(copy), str(steps)))
        shutil.rmtree(copy)
        naive.append(probe(NAIVE, str(folder), *files))
    with open(folder / files[0], "rb") as handle:
        lines = sum(1 for _ in handle)
    return {
        "lines": lines,
        "read_mb": sum((folder / name).stat().st_size for name in files) / 2**20,
        "first_s": median_of(history, "first_s"),
        "increment_ms": median_of(history, "increment_ms"),
        "rss_mb": median_of(history, "rss_mb"),
        "peak_mb": median_of(history, "peak_mb"),
        "naive_s": median_of(naive, "first_s"),
        "naive_rss_mb": median_of(naive, "rss_mb"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))
    from fixtures.fake_runs import write_fake_lf_run, write_fake_run

    header = (
        f"{'folder':<8} {'steps':>7} {'lines':>7} {'read MB':>8} {'first s':>8} {'+50 steps ms':>13} {'RSS MB':>7} "
        f"{'peak MB':>8} {'naive s':>8} {'naive RSS MB':>13} {'naive/first':>12}"
    )
    print(header)
    print("-" * len(header))
    for steps in args.steps:
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            run = write_fake_run(
                work / "run", steps, state="running", total_steps=2 * steps, eval_every=args.eval_every
            )
            lf = write_fake_lf_run(
                work / "lf", steps, total_steps=2 * steps, finished=False, logging_steps=1, eval_every=args.eval_every
            )
            for label, path, files in (("lmf run", run, RUN_FILES), ("LF dir", lf, LF_FILES)):
                m = measure(path, files, steps, args.repeat, work)
                print(
                    f"{label:<8} {steps:>7} {m['lines']:>7} {m['read_mb']:>8.1f} {m['first_s']:>8.3f} "
                    f"{m['increment_ms']:>13.2f} {m['rss_mb']:>7.1f} {m['peak_mb']:>8.1f} {m['naive_s']:>8.3f} "
                    f"{m['naive_rss_mb']:>13.1f} {m['naive_s'] / m['first_s']:>11.1f}x"
                )


if __name__ == "__main__":
    main()
