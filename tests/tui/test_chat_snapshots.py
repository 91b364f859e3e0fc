"""SVG snapshots of the chat screen, alone and A/B, with the scripted engine and a clock that ticks 250 ms per read
(so each answer's figures are fixed). Update with ``pytest tests/tui/test_chat_snapshots.py --snapshot-update``."""

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from fixtures.fake_chat import FakeChatEngine
from textual.pilot import Pilot
from tui_support import SIZE, settle, wait_until

from lmf_engine.chat.target import ChatTarget
from lmf_tui import chat_open
from lmf_tui.app import WorkbenchApp
from lmf_tui.screens import chat as chat_screen
from lmf_tui.screens.chat import ChatScreen
from lmf_tui.widgets.message_input import MessageInput

SMALL = (80, 24)


@pytest.fixture
def chat_app(make_app: Callable[..., WorkbenchApp], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> WorkbenchApp:
    monkeypatch.setenv("HOME", str(tmp_path))  # the header shows the workspace as ~/ws
    ticks = itertools.count()
    monkeypatch.setattr(chat_screen, "clock", lambda: next(ticks) * 0.25)
    names = {"config": "tiny-qwen2", "run": "tiny-qwen2 + sft_lora"}

    def open_engines(targets: Sequence[ChatTarget], root: Path, current: dict, release: Callable) -> list:
        return [FakeChatEngine(model_name=names[target.kind]) for target in targets]

    monkeypatch.setattr(chat_open, "open_engines", open_engines)
    return make_app()


async def ask(pilot: Pilot, text: str) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, ChatScreen)
    await wait_until(pilot, lambda: all(side.engine is not None for side in screen.active))
    box = screen.query_one(MessageInput)
    box.cursor_blink = False
    box.text = text
    box.focus()
    await pilot.press("enter")
    await wait_until(pilot, lambda: all(side.last_is_answer() for side in screen.active))

    def shown_whole() -> bool:  # each answer widget has finished its last (async) update
        answers = [screen.column(side).last_answer() for side in screen.active]
        return all(answer is not None and answer.finished for answer in answers)

    await wait_until(pilot, shown_whole)
    await settle(pilot)


async def single(pilot: Pilot) -> None:
    await pilot.press("6")
    await ask(pilot, "Say hello and show some code")


async def paired(pilot: Pilot) -> None:
    await pilot.press("6")
    screen = await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChatScreen) and pilot.app.screen)
    await wait_until(pilot, lambda: screen.sides[0].engine is not None)
    screen.sides[1].target = ChatTarget("run", "runs/sft_lora")
    screen.paired = True
    screen.add_class("-ab")
    screen._load()
    await ask(pilot, "Say hello and show some code")


def test_chat_screen(snap_compare: Callable[..., bool], chat_app: WorkbenchApp) -> None:
    assert snap_compare(chat_app, terminal_size=SIZE, run_before=single)


def test_chat_screen_ab(snap_compare: Callable[..., bool], chat_app: WorkbenchApp) -> None:
    assert snap_compare(chat_app, terminal_size=SIZE, run_before=paired)


def test_chat_screen_at_80x24(snap_compare: Callable[..., bool], chat_app: WorkbenchApp) -> None:
    assert snap_compare(chat_app, terminal_size=SMALL, run_before=single)
