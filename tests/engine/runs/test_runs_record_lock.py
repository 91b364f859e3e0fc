"""The run-record lock (filelock): processes that update one run.json take turns, and an earlier version's raw
``flock`` on the same file still excludes it."""

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lmf_engine.runs.record import LOCK_FILE, RunRecord, locked, read_run, update_run, write_run

HOLD = """
import sys, time
from pathlib import Path
from lmf_engine.runs.record import locked
run_dir, marks = Path(sys.argv[1]), Path(sys.argv[2])
with locked(run_dir):
    marks.write_text("in\\n")
    time.sleep(1.0)
    with marks.open("a") as out:
        out.write("out\\n")
"""

INCREMENT = """
import sys
from lmf_engine.runs.record import locked, read_run, write_run
for _ in range(int(sys.argv[2])):
    with locked(sys.argv[1]):
        record = read_run(sys.argv[1])
        record.extra["count"] = record.extra.get("count", 0) + 1
        write_run(sys.argv[1], record)
"""


def wait_for(path: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def test_a_second_process_waits_for_the_holder(tmp_path: Path) -> None:
    run_dir, marks = tmp_path / "run", tmp_path / "marks.txt"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir), str(marks)])
    try:
        wait_for(marks)
        with locked(run_dir):
            assert marks.read_text() == "in\nout\n"  # the holder had finished its critical section
    finally:
        assert holder.wait(timeout=30) == 0
    assert (run_dir / LOCK_FILE).exists()


def test_concurrent_read_modify_writes_lose_nothing(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_run(run_dir, RunRecord(name="run"))
    rounds = 40
    workers = [subprocess.Popen([sys.executable, "-c", INCREMENT, str(run_dir), str(rounds)]) for _ in range(3)]
    assert [worker.wait(timeout=60) for worker in workers] == [0, 0, 0]
    assert read_run(run_dir).extra["count"] == 3 * rounds
    assert update_run(run_dir, state="running").state == "running"


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")
def test_an_earlier_raw_flock_holder_excludes_the_lock(tmp_path: Path) -> None:
    run_dir, marks = tmp_path / "run", tmp_path / "marks.txt"
    run_dir.mkdir()
    legacy = textwrap.dedent(
        """
        import fcntl, sys, time
        from pathlib import Path
        with open(sys.argv[1], "a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            Path(sys.argv[2]).write_text("in\\n")
            time.sleep(1.0)
            with open(sys.argv[2], "a") as out:
                out.write("out\\n")
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", legacy, str(run_dir / LOCK_FILE), str(marks)])
    try:
        wait_for(marks)
        with locked(run_dir):
            assert marks.read_text() == "in\nout\n"
    finally:
        assert holder.wait(timeout=30) == 0
