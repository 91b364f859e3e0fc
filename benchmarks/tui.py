"""Start-up of ``lmf-tui``: time to the first frame, time until the Datasets screen shows the first page of a 1 GB
JSON Lines file, and the UI process's memory (RSS).

Usage: python benchmarks/tui.py [--size-mb 1024] [--repeat 3] [--keep DIR]

A workspace whose first dataset is a generated 1 GB JSONL is made in a temporary folder once (or in ``--keep DIR``,
reused when it is there); each run is a fresh process that starts the app headless at 120x40, from the moment the
process is launched. The app counts the big file's rows in the background after the first page: the last columns
show when that finished and the peak RSS by then, to show that the file is never read into memory.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROBE = """
import asyncio, json, resource, sys, time
from pathlib import Path

import psutil

from lmf_tui.app import WorkbenchApp
from lmf_tui.settings import Settings
from lmf_tui.widgets.dataset_list import DatasetList
from lmf_tui.widgets.rows_table import RowsTable
from lmf_tui.workspace import Workspace

marks = {}


class Probe(WorkbenchApp):
    def on_ready(self) -> None:
        marks["first_frame"] = time.time()


async def main() -> None:
    app = Probe(Workspace(Path(sys.argv[1])), Settings(path=None))
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.screen.query(RowsTable) or app.screen.query_one(RowsTable).row_count == 0:
            await asyncio.sleep(0.005)
        marks["first_page"] = time.time()
        marks["rss_first_page_mb"] = psutil.Process().memory_info().rss / 2**20
        table = app.screen.query_one(DatasetList)
        while not str(table.get_cell("big", "rows")).replace(",", "").isdigit():
            await pilot.pause(0.05)
        marks["counted"] = time.time()
        marks["rows"] = int(str(table.get_cell("big", "rows")).replace(",", ""))
        marks["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        marks["heavy"] = [m for m in ("torch", "transformers", "peft", "trl", "datasets") if m in sys.modules]
    print(json.dumps(marks))


asyncio.run(main())
"""


def make_workspace(root: Path, size_mb: int) -> Path:
    """A workspace whose first dataset ``big`` is a ``size_mb`` MB alpaca JSONL (written once)."""
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    info = {"big": {"file_name": "big.jsonl"}}
    (data / "dataset_info.json").write_text(json.dumps(info))
    big = data / "big.jsonl"
    if big.exists() and big.stat().st_size >= size_mb * 2**20:
        return root
    row = {"instruction": "Summarise the following passage in one sentence.", "input": "lorem ipsum " * 40}
    with big.open("w", encoding="utf-8") as handle:
        written, i = 0, 0
        while written < size_mb * 2**20:
            line = json.dumps({**row, "output": f"answer number {i}"}) + "\n"
            handle.write(line)
            written += len(line)
            i += 1
    return root


def run_once(workspace: Path) -> dict[str, float]:
    start = time.time()
    done = subprocess.run([sys.executable, "-c", PROBE, str(workspace)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    marks = json.loads(done.stdout.strip().splitlines()[-1])
    for key in ("first_frame", "first_page", "counted"):
        marks[key] -= start
    return marks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="folder for the workspace, kept and reused")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp) / "ws"
        started = time.perf_counter()
        make_workspace(root, args.size_mb)
        size_gb = (root / "data" / "big.jsonl").stat().st_size / 2**30
        print(f"workspace ready in {time.perf_counter() - started:.1f} s: {size_gb:.2f} GB JSONL at {root}")
        runs = [run_once(root) for _ in range(args.repeat)]

    def median(key: str) -> float:
        return statistics.median(run[key] for run in runs)

    print(f"{'what (median of ' + str(len(runs)) + ' fresh processes)':<52} {'value':>10}")
    print(f"{'first frame (from process launch)':<52} {median('first_frame'):>8.3f} s")
    print(f"{'datasets screen shows the first page of the JSONL':<52} {median('first_page'):>8.3f} s")
    print(f"{'UI process RSS at that moment':<52} {median('rss_first_page_mb'):>7.0f} MB")
    print(f"{'all rows counted in the background':<52} {median('counted'):>8.3f} s  ({runs[0]['rows']:,} rows)")
    print(f"{'UI process peak RSS by then':<52} {median('peak_rss_mb'):>7.0f} MB")
    heavy = sorted({m for run in runs for m in run["heavy"]})
    print(f"heavy libraries imported by the UI process: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
