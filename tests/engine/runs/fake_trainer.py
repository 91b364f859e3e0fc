"""Stand-in for ``python -m lmf_engine.train RUN_DIR [--resume]`` in the run tests: it follows the same protocol.

The tests copy this file into the workspace and start it as ``python -m fake_trainer``. ``FAKE_TRAINER_MODE`` picks
what it does: ``finish`` (log FAKE_TRAINER_STEPS steps, save a checkpoint, finish), ``wait`` (log steps until
SIGTERM, then save a checkpoint and stop), ``ignore_term`` (like wait, but ignores SIGTERM) and ``crash`` (print and
exit without touching run.json, as a process killed by the OOM killer would).
"""

import json
import os
import signal
import sys
import time
from pathlib import Path

from lmf_engine.runs.events import EventWriter
from lmf_engine.runs.record import update_run


def main() -> int:
    run_dir = Path(sys.argv[1])
    resume = "--resume" in sys.argv[2:]
    mode = os.environ.get("FAKE_TRAINER_MODE", "finish")
    steps = int(os.environ.get("FAKE_TRAINER_STEPS", "3"))
    delay = float(os.environ.get("FAKE_TRAINER_DELAY", "0.05"))
    print(f"fake trainer: mode {mode}, resume {resume}", flush=True)
    if mode == "crash":
        print("fake trainer: boom", flush=True)
        return 3
    stop_asked: list[int] = []
    if mode == "ignore_term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda signum, frame: stop_asked.append(signum))
    update_run(run_dir, state="running", pid=os.getpid(), pgid=os.getpgrp())
    events = EventWriter(run_dir)
    events.emit("state", state="running", resume=resume)
    endless = mode in ("wait", "ignore_term")
    step = 0
    with open(run_dir / "trainer_log.jsonl", "a", encoding="utf-8") as log:
        while endless or step < steps:
            if stop_asked:
                break
            time.sleep(delay)
            step += 1
            entry = {"current_steps": step, "total_steps": steps, "loss": round(2.0 / step, 4), "lr": 1e-3}
            entry.update(epoch=step / steps, percentage=round(100 * step / steps, 2), throughput=100.0)
            log.write(json.dumps(entry) + "\n")
            log.flush()
            events.emit("progress", **entry)
    checkpoint = run_dir / f"checkpoint-{step}"
    checkpoint.mkdir(exist_ok=True)
    events.emit("checkpoint", path=str(checkpoint), step=step)
    state = "stopped" if stop_asked else "finished"
    update_run(run_dir, state=state, exit_code=0)
    events.emit("state", state=state)
    print(f"fake trainer: {state} at step {step}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
