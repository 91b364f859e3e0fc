"""Figures of ``lmf-tui``, each measured in fresh processes running the app headless at 120x40.

Usage: python benchmarks/tui.py [startup|run|latency|sampler|all] [--size-mb 1024] [--steps 100000] [--repeat 3]
       [--keep DIR] [--seconds 60]

- startup: time to the first frame, time until the Datasets screen shows the first page of a generated 1 GB JSON
  Lines file, and the UI process's memory (RSS). The app counts the big file's rows in the background after the
  first page: the last rows show when that finished and the peak RSS by then (the file is never read into memory).
- run: open the train screen on a finished run with ``--steps`` logged steps (``tests/fixtures/fake_runs.py``: a
  progress and a log event per step, evaluations, system samples) until its first chart is painted, from the key
  press and from the process launch, and the RSS then; beside the same for a run of 100 steps (the ratio says how
  much the length of a run costs). Targets: first chart < 1 s, RSS < 150 MB.
- latency: the train screen watching a running run while another thread appends 50 steps a second to its files;
  a key (``l``, which also rebuilds every chart in view) is sent every 100 ms and its latency is the time from the
  key event's creation to its action running. Beside the same with no run writing. Target: p99 < 50 ms.
- sampler: the sampler's CPU share at 1 Hz over ``--seconds`` (``benchmarks/monitor.py``). Target: < 1 % of a core.
"""

import argparse
import json
import shutil
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


def startup(args: argparse.Namespace) -> None:
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


RUN_PROBE = """
import asyncio, json, os, sys, time
from pathlib import Path

import psutil

from lmf_tui.app import WorkbenchApp
from lmf_tui.settings import Settings
from lmf_tui.widgets.metric_chart import MetricChart
from lmf_tui.widgets.run_view import RunView
from lmf_tui.widgets.runs_table import RunsTable
from lmf_tui.workspace import Workspace

marks = {}
original_render = MetricChart.render


def render(self):
    if self.metric == "loss" and self.built_size and "first_chart" not in marks:
        marks["first_chart"] = time.time()
    return original_render(self)


MetricChart.render = render


async def main() -> None:
    app = WorkbenchApp(Workspace(Path(sys.argv[1])), Settings(path=None))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        if sys.argv[2] == "runs":
            await pilot.press("5")
            while not app.screen.query(RunsTable) or not app.screen.query_one(RunsTable).row_count:
                await asyncio.sleep(0.005)
            await pilot.pause(0.5)
            marks["pressed"] = time.time()
            await pilot.press("enter")
        else:
            marks["pressed"] = time.time()
            await pilot.press("4")
        while "first_chart" not in marks:
            await asyncio.sleep(0.002)
        marks["rss_mb"] = psutil.Process().memory_info().rss / 2**20
        view = app.screen.query_one(RunView)
        while view.poller is None or not view.poller.history.complete or view.polling:
            await asyncio.sleep(0.01)
        marks["loaded"] = time.time()
        marks["loaded_rss_mb"] = psutil.Process().memory_info().rss / 2**20
    print(json.dumps(marks))


asyncio.run(main())
"""

LATENCY_PROBE = """
import asyncio, json, statistics, sys, threading, time
from pathlib import Path

sys.path.insert(0, sys.argv[3])
from fixtures.fake_runs import append_steps
from textual import events

from lmf_tui.app import WorkbenchApp
from lmf_tui.screens.train import TrainScreen
from lmf_tui.settings import Settings
from lmf_tui.widgets.metric_chart import MetricChart
from lmf_tui.workspace import Workspace

latencies = []
sent = {}
original = TrainScreen.action_log_scale


def timed(self) -> None:
    latencies.append(time.perf_counter() - sent.pop("at"))
    original(self)


TrainScreen.action_log_scale = timed
run_dir, writing, first_step = Path(sys.argv[1]) / "runs" / "live", sys.argv[2] == "1", int(sys.argv[4])
stop = threading.Event()


def writer() -> None:
    step = first_step
    next_at = time.perf_counter()
    while not stop.is_set():
        append_steps(run_dir, step, 1)
        step += 1
        next_at += 1 / 50
        time.sleep(max(0.0, next_at - time.perf_counter()))


async def main() -> None:
    app = WorkbenchApp(Workspace(Path(sys.argv[1])), Settings(path=None))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("4")
        await pilot.press("escape")
        while not [c for c in app.screen.query(MetricChart) if c.built_size]:
            await asyncio.sleep(0.01)
        thread = threading.Thread(target=writer, daemon=True)
        if writing:
            thread.start()
        await asyncio.sleep(2.0)
        for _ in range(200):
            sent["at"] = time.perf_counter()
            app.post_message(events.Key("l", "l"))
            await asyncio.sleep(0.1)
            while "at" in sent:
                await asyncio.sleep(0.005)
        stop.set()
    latencies.sort()
    print(json.dumps({"p50": statistics.median(latencies), "p99": latencies[int(len(latencies) * 0.99) - 1],
                      "max": latencies[-1], "count": len(latencies)}))


asyncio.run(main())
"""


ROUTES = {"runs": "runs screen, Enter", "train": "train screen (4)"}


def fake_run_workspace(root: Path, steps: int, state: str) -> Path:
    """A workspace whose only run, ``runs/<state>``, has ``steps`` logged steps (written once)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from fixtures.fake_runs import write_fake_run

    run_dir = root / "runs" / ("live" if state == "running" else "done")
    if not (run_dir / "run.json").exists():
        total = steps * 10 if state == "running" else steps
        write_fake_run(run_dir, steps, total_steps=total, state=state, eval_every=max(steps // 20, 1))
    return root


def probe(code: str, *argv: str) -> dict:
    start = time.time()
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    marks = json.loads(done.stdout.strip().splitlines()[-1])
    marks["launched"] = start
    return marks


def open_run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        started = time.perf_counter()
        sizes = (args.steps, 100)
        roots = {steps: fake_run_workspace(base / f"run-{steps}", steps, "finished") for steps in sizes}
        print(f"runs written in {time.perf_counter() - started:.1f} s")
        results: dict[tuple[str, int], list[dict]] = {(r, s): [] for r in ROUTES for s in sizes}
        for _ in range(args.repeat):
            for route, steps in results:
                results[route, steps].append(probe(RUN_PROBE, str(roots[steps]), route))

    def median(route: str, steps: int, what: str) -> float:
        runs = results[route, steps]
        if what.endswith("rss_mb"):
            return statistics.median(r[what] for r in runs)
        if what == "loaded":
            return statistics.median(r["loaded"] - r["pressed"] for r in runs)
        return statistics.median(r["first_chart"] - r[what] for r in runs)

    big, small = sizes
    title = f"open a finished run (median of {args.repeat})"
    print(f"{title:<60} {big:>9,} steps {small:>9,} steps  ratio")
    for route, where in ROUTES.items():
        for label, what, unit in (
            ("first chart painted, from the key press", "pressed", "s"),
            ("first chart painted, from process launch", "launched", "s"),
            ("UI process RSS then", "rss_mb", "MB"),
            ("every curve loaded, from the key press", "loaded", "s"),
            ("UI process RSS then", "loaded_rss_mb", "MB"),
        ):
            a, b = median(route, big, what), median(route, small, what)
            print(f"{where + ': ' + label:<60} {a:>9.3f} {unit:<5} {b:>9.3f} {unit:<5} {a / b:>5.2f}x")


def key_latency(args: argparse.Namespace) -> None:
    tests = str(Path(__file__).resolve().parents[1] / "tests")
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        rows = []
        for writing in (True, False):
            root = base / f"latency-{int(writing)}"
            shutil.rmtree(root, ignore_errors=True)
            fake_run_workspace(root, 200, "running")
            marks = [
                probe(LATENCY_PROBE, str(root), "1" if writing else "0", tests, "201") for _ in range(args.repeat)
            ]
            rows.append((writing, marks))
    print(
        f"{'key latency (median of ' + str(args.repeat) + ' runs of 200 keys)':<48} {'p50':>8} {'p99':>8} {'max':>8}"
    )
    for writing, marks in rows:
        label = "run writing 50 steps/s" if writing else "no run writing (reference)"
        values = [statistics.median(m[k] * 1000 for m in marks) for k in ("p50", "p99", "max")]
        print(f"{label:<48} {values[0]:>6.1f}ms {values[1]:>6.1f}ms {values[2]:>6.1f}ms")


def sampler(args: argparse.Namespace) -> None:
    script = Path(__file__).with_name("monitor.py")
    subprocess.run([sys.executable, str(script), "--seconds", str(args.seconds)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", default="all", choices=("startup", "run", "latency", "sampler", "all"))
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="folder for the generated workspaces, kept and reused")
    args = parser.parse_args()
    for name, measure in (("startup", startup), ("run", open_run), ("latency", key_latency), ("sampler", sampler)):
        if args.what in (name, "all"):
            measure(args)


if __name__ == "__main__":
    main()
