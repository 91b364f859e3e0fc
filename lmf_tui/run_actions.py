"""Stop, resume and 'what next' for a run, shared by the train, runs and run screens.

Each asks first where the action cannot be undone, then does the work in a thread worker (signalling a process
group or spawning a child can take a moment) and reports back with a notification.
"""

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from lmf_engine.chat.target import ChatTarget
from lmf_engine.runs.inference import INFERENCE_FILE, RunConfigError, write_inference_config
from lmf_engine.runs.launcher import checkpoints, newest_checkpoint
from lmf_engine.runs.store import RunInfo, open_run, resume_run, stop_run

from .screens.choose import ChooseScreen, confirm

if TYPE_CHECKING:
    from .screens.base import WorkbenchScreen


def ask_stop(screen: "WorkbenchScreen", info: RunInfo) -> None:
    """Ask, then stop the run: it finishes the step, saves a checkpoint and ends ``stopped``."""
    if not info.active:
        screen.notify(f"run {info.name} is {info.state}: nothing to stop", severity="warning")
        return

    message = f"{info.path}\nThe trainer finishes its current step, saves a checkpoint and ends 'stopped'."
    confirm_then(
        screen, f"Stop run {info.name}?", message, "Stop it", lambda: _stop(info), f"Stopping run {info.name}"
    )


def confirm_then(
    screen: "WorkbenchScreen", title: str, message: str, yes: str, work: Callable[[], object], description: str
) -> None:
    """Ask a yes/no question; on yes run ``work`` in a thread worker (a text it returns is shown)."""

    def answered(answer: str | None) -> None:
        if answer == "yes":
            screen.run_worker(work, thread=True, description=description)

    screen.app.push_screen(confirm(title, message, yes), answered)


def _stop(info: RunInfo) -> str:
    stop_run(info)
    return f"run {info.name}: stopping (saving a checkpoint)"


def ask_resume(screen: "WorkbenchScreen", info: RunInfo) -> None:
    """Offer the run's checkpoints (newest first) and resume from the one chosen."""
    if info.record is None:
        screen.notify(
            f"{info.path} is a LLaMA-Factory output folder: resume it with llamafactory-cli", severity="error"
        )
        return
    if info.active:
        screen.notify(f"run {info.name} is {info.state}: stop it before resuming", severity="warning")
        return
    found = checkpoints(info.path)
    if not found:
        screen.notify(f"run {info.name} has no checkpoint to resume from", severity="error")
        return
    choices = [(str(path), f"{path.name}" + (" (newest)" if i == 0 else "")) for i, path in enumerate(found)]

    def answered(answer: str | None) -> None:
        if answer:
            checkpoint = Path(answer)
            screen.run_worker(lambda: _resume(info, checkpoint), thread=True, description=f"Resuming run {info.name}")

    screen.app.push_screen(ChooseScreen(f"Resume run {info.name} from", str(info.path), choices), answered)


def _resume(info: RunInfo, checkpoint: Path) -> None:
    resume_run(open_run(info.path), checkpoint=None if checkpoint == newest_checkpoint(info.path) else checkpoint)


def next_steps(path: Path) -> str:
    """The commands that chat with, serve and export a run's result through its inference config ``path``."""
    shown = shlex.quote(str(path))
    return (
        f"Written {path}.\n\n"
        f"Chat with it:           lmf-engine chat {shown}\n"
        f"Serve it (OpenAI API):  lmf-engine api {shown}\n"
        f"Export (merge) it:      lmf-engine export {shown}"
    )


def show_next_steps(screen: "WorkbenchScreen", info: RunInfo) -> None:
    """What to do with a finished run: chat with it on the chat screen, or the commands that chat, serve, export."""
    if info.state != "finished":
        screen.notify(f"run {info.name} is {info.state}; chat and export need a finished run", severity="warning")
        return
    if info.record is None:
        screen.notify(f"{info.path} is a LLaMA-Factory output folder: it is shown read-only", severity="warning")
        return
    try:
        path = write_inference_config(info.path, info.name)
    except (OSError, RunConfigError) as exc:
        screen.notify(f"cannot write {info.path / INFERENCE_FILE}: {exc}", severity="error")
        return
    choices = [("chat", "[c] Chat with it here (screen 6)"), ("close", "[x] Close")]

    def answered(answer: str | None) -> None:
        if answer == "chat":
            screen.workbench.chat_with(ChatTarget("run", str(info.path)))

    dialog = ChooseScreen(f"Run {info.name} is finished", next_steps(path), choices, keys={"c": "chat", "x": "close"})
    screen.app.push_screen(dialog, answered)
