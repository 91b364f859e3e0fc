"""Open a 1 GB JSON Lines file and show its first page: wall time and peak memory of a fresh process.

Usage: python benchmarks/preview.py [--size-mb 1024] [--file PATH]

Compared, in the same run, with what a loader that reads the file whole does (``datasets.load_dataset("json")``
on a 64 MB slice, as LLaMA-Factory loads data), so the ratio shows what lazy paging saves.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PROBE = """
import resource, sys, time
start = time.perf_counter()
{body}
elapsed = time.perf_counter() - start
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{{elapsed:.4f}} {{peak_mb:.1f}}")
"""

LAZY = """
from lmf_engine.data.preview import open_rows
rows = open_rows(sys.argv[1]).head(50)
assert len(rows) == 50
"""

EAGER = """
import datasets
datasets.disable_progress_bars()
ds = datasets.load_dataset("json", data_files=sys.argv[1], split="train", cache_dir=sys.argv[2])
rows = ds.select(range(50)).to_list()
"""


def make_file(path: Path, size_mb: int) -> None:
    row = {"instruction": "Summarise the following passage in one sentence.", "input": "lorem ipsum " * 40}
    with path.open("w", encoding="utf-8") as handle:
        written, i = 0, 0
        while written < size_mb * 2**20:
            line = json.dumps({**row, "output": f"answer number {i}"}) + "\n"
            handle.write(line)
            written += len(line)
            i += 1


def run(body: str, *args: str) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(body=body), *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    seconds, peak = out.stdout.split()
    return float(seconds), float(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--file", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big = args.file or Path(tmp) / "big.jsonl"
        if args.file is None:
            make_file(big, args.size_mb)
        small = Path(tmp) / "slice.jsonl"
        make_file(small, 64)
        lazy = [run(LAZY, str(big)) for _ in range(args.repeat)]
        eager = run(EAGER, str(small), str(Path(tmp) / "cache"))
        size_gb = big.stat().st_size / 2**30
    lazy_s = statistics.median(t for t, _ in lazy)
    lazy_mb = statistics.median(m for _, m in lazy)
    print(f"{'what':<48} {'seconds':>8} {'peak MB':>8}")
    print(f"{f'lmf preview: first 50 rows of {size_gb:.2f} GB JSONL':<48} {lazy_s:>8.3f} {lazy_mb:>8.0f}")
    print(f"{'datasets.load_dataset on a 64 MB slice':<48} {eager[0]:>8.3f} {eager[1]:>8.0f}")
    print(f"ratio: preview of the whole file is {eager[0] / lazy_s:.0f}x faster than loading 1/16 of it eagerly")


if __name__ == "__main__":
    main()
