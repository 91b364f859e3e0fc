"""run.json and events.jsonl: round trips, state rules, locking, and readers that meet half-written lines."""

import json
import threading
from pathlib import Path

import pytest

from lmf_engine.runs.events import EVENTS_FILE, EventWriter, follow_events, read_events
from lmf_engine.runs.record import RunRecord, RunRecordError, read_run, update_run, write_run


def test_record_round_trip_keeps_unknown_keys(tmp_path: Path) -> None:
    record = RunRecord(name="a", command=["python", "-m", "x"], pid=12, pgid=12, cwd="/ws")
    write_run(tmp_path, record)
    data = json.loads((tmp_path / "run.json").read_text())
    assert data["state"] == "queued" and data["name"] == "a" and data["pid"] == 12
    data["written_by_a_newer_version"] = {"x": 1}
    (tmp_path / "run.json").write_text(json.dumps(data))
    again = read_run(tmp_path)
    assert again == RunRecord.from_dict(data)
    assert again.extra == {"written_by_a_newer_version": {"x": 1}}
    write_run(tmp_path, again)
    assert json.loads((tmp_path / "run.json").read_text())["written_by_a_newer_version"] == {"x": 1}


def test_read_run_names_the_problem(tmp_path: Path) -> None:
    with pytest.raises(RunRecordError, match="no run record"):
        read_run(tmp_path)
    (tmp_path / "run.json").write_text('{"state": "')
    with pytest.raises(RunRecordError, match="cannot read"):
        read_run(tmp_path)
    (tmp_path / "run.json").write_text('{"state": "dancing"}')
    with pytest.raises(RunRecordError, match="unknown run state 'dancing'"):
        read_run(tmp_path)


def test_update_run_stamps_times_and_never_goes_back(tmp_path: Path) -> None:
    write_run(tmp_path, RunRecord(name="a"))
    running = update_run(tmp_path, state="running", pid=5, note="hi")
    assert running.started_at is not None and running.ended_at is None and running.extra["note"] == "hi"
    assert update_run(tmp_path, state="stopping").state == "stopping"
    assert update_run(tmp_path, state="running").state == "stopping"
    stopped = update_run(tmp_path, state="stopped", exit_code=0)
    assert stopped.state == "stopped" and stopped.ended_at is not None
    assert update_run(tmp_path, state="stopping").state == "stopped"
    assert read_run(tmp_path).state == "stopped"


def test_concurrent_updates_lose_nothing(tmp_path: Path) -> None:
    write_run(tmp_path, RunRecord(name="a"))
    threads = [threading.Thread(target=lambda i=i: update_run(tmp_path, **{f"k{i}": i})) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert read_run(tmp_path).extra == {f"k{i}": i for i in range(16)}


def test_events_round_trip_with_offsets(tmp_path: Path) -> None:
    with EventWriter(tmp_path) as events:
        first = events.emit("progress", current_steps=1, loss=2.5)
        events.emit("log", message="héllo")
    read, offset = read_events(tmp_path)
    assert read[0] == first and read[1]["message"] == "héllo" and read[1]["kind"] == "log"
    assert isinstance(read[0]["t"], float)
    assert offset == (tmp_path / EVENTS_FILE).stat().st_size
    assert read_events(tmp_path, offset) == ([], offset)
    with EventWriter(tmp_path) as events:
        events.emit("state", state="finished")
    more, _ = read_events(tmp_path, offset)
    assert [e["kind"] for e in more] == ["state"]


def test_unknown_event_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown event kind 'progres'"):
        EventWriter(tmp_path).emit("progres")


def test_half_written_last_line_is_left_for_the_next_read(tmp_path: Path) -> None:
    path = tmp_path / EVENTS_FILE
    path.write_text('{"t": 1, "kind": "log", "message": "a"}\n{"t": 2, "kind": "pro')
    events, offset = read_events(tmp_path)
    assert [e["t"] for e in events] == [1]
    assert read_events(tmp_path, offset) == ([], offset)
    with open(path, "a") as handle:
        handle.write('gress", "current_steps": 3}\nnot json\n[1, 2]\n')
    events, end = read_events(tmp_path, offset)
    assert events == [{"t": 2, "kind": "progress", "current_steps": 3}]
    assert end == path.stat().st_size


def test_missing_or_replaced_file(tmp_path: Path) -> None:
    assert read_events(tmp_path, 7) == ([], 7)
    (tmp_path / EVENTS_FILE).write_text('{"t": 1, "kind": "log"}\n')
    assert read_events(tmp_path, 500)[0] == [{"t": 1, "kind": "log"}]


def test_follow_events_reads_until_the_run_is_final(tmp_path: Path) -> None:
    write_run(tmp_path, RunRecord(name="a", state="running"))
    writer = EventWriter(tmp_path)

    def produce() -> None:
        for step in range(1, 4):
            writer.emit("progress", current_steps=step)
        writer.emit("state", state="finished")
        update_run(tmp_path, state="finished")

    timer = threading.Timer(0.2, produce)
    timer.start()
    seen = [e.get("current_steps", e.get("state")) for e in follow_events(tmp_path, poll_interval=0.02)]
    timer.join()
    writer.close()
    assert seen == [1, 2, 3, "finished"]
