"""The training child: ``python -m lmf_engine.train RUN_DIR [--resume [CHECKPOINT]]``.

It reads ``RUN_DIR/config.yaml``, runs in the workspace recorded in run.json (``cwd``) so relative paths resolve as
they did for the launcher, marks the run ``running``, trains the config's stage with RUN_DIR as output_dir, and ends
the run ``finished``, ``stopped`` (SIGTERM/SIGINT: current step finished, checkpoint saved) or ``failed`` (the error
in run.json and events.jsonl, exit code 1). Under a distributed launch only world rank 0 writes run.json and events.
"""

import argparse
import importlib
import logging
import os
import sys
import traceback
from pathlib import Path

from lmf_engine.runs.events import EventWriter
from lmf_engine.runs.record import (
    CONFIG_FILE,
    TRAINER_LOG_FILE,
    RunRecord,
    RunRecordError,
    read_run,
    update_run,
    write_run,
)

from .fp8 import check_fp8
from .signals import StopRequest, StopRequested
from .stages import STAGES
from .swanlab_logging import check_swanlab

log = logging.getLogger(__name__)

LAUNCHER_VARIABLE = "LMF_LAUNCHER"
"""Set to ``ray`` in the environment of a Ray driver's training workers."""

OOM_ADVICE = (
    "lower per_device_train_batch_size or cutoff_len (raise gradient_accumulation_steps to keep the batch), keep "
    "gradient checkpointing on, use finetuning_type: lora, or quantize with quantization_bit: 4"
)
KNOWN_ERRORS = (
    "ConfigError",
    "DataError",
    "BadRowsError",
    "ModelLoadError",
    "ResumeError",
    "NonFiniteLossError",
    "OptimizerPackageMissing",
    "VllmMissing",
    "VllmSetupError",
    "Fp8Error",
    "SwanLabMissing",
)
"""Errors whose message already says what to change; others are prefixed with their type."""


def is_main_process() -> bool:
    """World rank 0 (or a run that is not distributed)."""
    return int(os.environ.get("RANK", "0")) == 0


def _worker_cause(name: str, text: str) -> str:
    """The original message of an error torch re-raises from a data-loader worker (it wraps it with a traceback)."""
    if not (text.startswith("Caught ") and "DataLoader worker" in text.splitlines()[0]):
        return text
    marker = f"{name}: "
    at = text.rfind(marker)
    return text[at + len(marker) :].strip() if at >= 0 else text


def describe_error(exc: BaseException) -> str:
    """One message for run.json: the error's own words for user errors, with advice for out-of-memory."""
    name = type(exc).__name__
    text = _worker_cause(name, str(exc).strip() or name)
    if name == "OutOfMemoryError" or "out of memory" in text.lower():
        first = text.splitlines()[0]
        return f"out of memory ({first}): {OOM_ADVICE}"
    if name in KNOWN_ERRORS:
        return text
    return f"{name}: {text}"


def _open_record(run_dir: Path) -> RunRecord:
    """run.json, created when the child was started by hand on a folder holding only config.yaml."""
    try:
        return read_run(run_dir)
    except RunRecordError:
        record = RunRecord(
            name=run_dir.name,
            command=[sys.executable, "-m", "lmf_engine.train", *sys.argv[1:]],
            cwd=os.getcwd(),
            config_path=str(run_dir / CONFIG_FILE),
        )
        write_run(run_dir, record)
        return record


def _read_record(run_dir: Path) -> RunRecord | None:
    try:
        return read_run(run_dir)
    except RunRecordError:
        return None


def _own_process() -> dict[str, int]:
    """The process fields rank 0 records: its group (a stop signals it) and, alone, its pid. A Ray worker records
    neither: the launcher recorded the Ray driver, which passes a stop on to the workers."""
    if os.environ.get(LAUNCHER_VARIABLE) == "ray":
        return {}
    own = {"pgid": os.getpgid(0)}
    if int(os.environ.get("WORLD_SIZE", "1")) == 1:
        own["pid"] = os.getpid()
    return own


def _setup_logging(main_process: bool) -> None:
    level = logging.INFO if main_process else logging.WARNING
    logging.basicConfig(
        level=level, format="[%(levelname)s|%(asctime)s] %(name)s:%(lineno)d >> %(message)s", stream=sys.stdout
    )


def _fresh_logs(run_dir: Path, resume_from: str | None) -> None:
    """A resumed run keeps trainer_log.jsonl up to its checkpoint; a fresh one starts it anew."""
    from .callbacks import trim_trainer_log

    if resume_from is not None:
        state = Path(resume_from).name.rsplit("-", 1)[-1]
        trim_trainer_log(run_dir, int(state) if state.isdigit() else 0)
    elif (run_dir / TRAINER_LOG_FILE).exists():
        (run_dir / TRAINER_LOG_FILE).unlink()


def run_stage(
    run_dir: Path, resume: bool, stop: StopRequest, events: EventWriter | None, checkpoint: str | None = None
) -> None:
    """Load the run's config and train its stage (resuming from ``checkpoint`` when given)."""
    from lmf_engine.config import load_config

    config = load_config(run_dir / CONFIG_FILE)
    check_fp8(config)
    check_swanlab(config)
    config.training.output_dir = str(run_dir)
    if checkpoint:
        config.training.resume_from_checkpoint = checkpoint
    stage = config.finetuning.stage
    if stage not in STAGES:
        raise ValueError(f"stage: {stage!r} cannot be trained by this version; choose one of {', '.join(STAGES)}")
    from lmf_engine.config.optimizer_extras import require_optimizer_packages

    require_optimizer_packages(config)
    from transformers import set_seed

    from .args import resume_checkpoint
    from .common import StageContext

    set_seed(config.training.seed)
    resume_from = resume_checkpoint(config, run_dir, resume)
    if events is not None:
        _fresh_logs(run_dir, resume_from)
        if resume_from is not None:
            update_run(run_dir, resumed_from=resume_from)
        events.emit("state", state="running", stage=stage, resumed_from=resume_from)
    module = importlib.import_module(STAGES[stage])
    module.run(
        StageContext(
            config=config, run_dir=run_dir, stop=stop, events=events, resume_from=resume_from, resuming=resume
        )
    )


def _close_distributed() -> None:
    if "torch" not in sys.modules:
        return
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def main(argv: list[str] | None = None) -> int:
    """Run the child; the exit code is 0 for a finished or stopped run, 1 for a failed one, 2 without a run folder."""
    parser = argparse.ArgumentParser(prog="python -m lmf_engine.train", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="run folder holding config.yaml (and run.json)")
    parser.add_argument(
        "--resume",
        nargs="?",
        const="",
        default=None,
        metavar="CHECKPOINT",
        help="resume from CHECKPOINT, or without one from the newest checkpoint-N in the run folder",
    )
    args = parser.parse_args(argv)
    run_dir = Path(args.run_dir).resolve()
    if not (run_dir / CONFIG_FILE).is_file():
        print(
            f"error: {run_dir / CONFIG_FILE} does not exist; a run folder holds the run's config.yaml", file=sys.stderr
        )
        return 2
    main_process = is_main_process()
    stop = StopRequest().install()
    record = _open_record(run_dir) if main_process else _read_record(run_dir)
    if record is not None and record.cwd:
        os.chdir(record.cwd)
    _setup_logging(main_process)
    events = EventWriter(run_dir) if main_process else None
    recorder = None
    if main_process:
        from lmf_engine.monitor.recorder import start_run_recorder

        update_run(run_dir, state="running", error=None, exit_code=None, ended_at=None, **_own_process())
        recorder = start_run_recorder(run_dir)
    error = None
    try:
        run_stage(run_dir, args.resume is not None, stop, events, checkpoint=args.resume or None)
        state = "stopped" if stop.requested else "finished"
    except StopRequested:
        state = "stopped"
    except Exception as exc:
        traceback.print_exc()
        state, error = "failed", describe_error(exc)
    code = 1 if state == "failed" else 0
    if recorder is not None:
        recorder.stop()
    if events is not None:
        if error is not None:
            events.emit("error", message=error)
        events.emit("state", state=state)
        events.close()
        update_run(run_dir, state=state, exit_code=code, error=error)
    log.info("Run %s: %s%s", run_dir.name, state, f" ({error})" if error else "")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        print(f"Process rank {os.environ.get('RANK', '0')} of {world}: {state}", flush=True)
    _close_distributed()
    return code
