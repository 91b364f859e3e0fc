"""Monkey test: on every screen, random keys from the bindings, typed text with markup characters and terminal
resizes, for fixed seeds. Any exception (in a handler, a worker, a render) fails the test.

Quitting keys are never pressed; training starts and resumes run the fake trainer; the chat screen gets a scripted
engine instead of a model. Dialogs that open are left to the random keys, and closed with escape now and then.
"""

import functools
import random
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from fixtures.fake_chat import FakeChatEngine
from tui_support import settle

from lmf_engine.chat.target import ChatTarget
from lmf_engine.runs.launcher import start_run
from lmf_engine.runs.store import resume_run
from lmf_tui import chat_open
from lmf_tui.app import SCREENS, WorkbenchApp
from lmf_tui.bindings import KEYS

FAKE_TRAINER = Path(__file__).parents[1] / "engine" / "runs" / "fake_trainer.py"
SEEDS = (1, 2)
KEYS_PER_SCREEN = 20
SIZES = ((80, 24), (100, 30), (120, 40), (200, 60), (60, 20))
NEVER = {"app.quit"}
"""Bindings never pressed: quitting ends the test, not a crash."""

BOUND_KEYS = sorted({key.strip() for spec in KEYS if spec.id not in NEVER for key in spec.keys.split(",")})
PLAIN_KEYS = ("tab", "shift+tab", "up", "down", "left", "right", "enter", "escape", "space", "backspace", "home")
TEXT = ("[b]", "[/x]", "[x=1]", "[@click=app.quit]", "[/]", "a]b[c", "é🙂", "x" * 8, "1e-4", "-1", "\\[", "$x")


@pytest.fixture
def quiet_children(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Starts and resumes run the fake trainer (few quick steps); chat gets fake engines, never a model."""
    shutil.copy(FAKE_TRAINER, workspace / "fake_trainer.py")
    fake_start = functools.partial(start_run, entry_module="fake_trainer")
    fake_resume = functools.partial(resume_run, entry_module="fake_trainer")
    monkeypatch.setattr("lmf_tui.launch.start_run", fake_start)
    monkeypatch.setattr("lmf_tui.launch.resume_run", fake_resume)
    monkeypatch.setattr("lmf_tui.run_actions.resume_run", fake_resume)
    monkeypatch.setenv("FAKE_TRAINER_MODE", "finish")
    monkeypatch.setenv("FAKE_TRAINER_STEPS", "2")
    monkeypatch.setenv("FAKE_TRAINER_DELAY", "0.01")

    def open_engines(targets: Sequence[ChatTarget], root: Path, current: dict, release: Callable) -> list:
        for engine in current.values():
            release(engine)
        return [FakeChatEngine(("Hello [b]there[/b] ", "[@click=app.quit]x[/]")) for _ in targets]

    monkeypatch.setattr(chat_open, "open_engines", open_engines)


def actions(rng: random.Random, count: int) -> list[tuple[str, object]]:
    """``count`` random steps: a bound key, a plain key, some text, or a resize."""
    out: list[tuple[str, object]] = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.45:
            out.append(("key", rng.choice(BOUND_KEYS)))
        elif roll < 0.7:
            out.append(("key", rng.choice(PLAIN_KEYS)))
        elif roll < 0.92:
            out.append(("text", rng.choice(TEXT)))
        else:
            out.append(("resize", rng.choice(SIZES)))
    return out


@pytest.mark.parametrize("seed", SEEDS)
async def test_random_keys_text_and_resizes_on_every_screen(
    make_app: Callable[..., WorkbenchApp], quiet_children: None, seed: int
) -> None:
    rng = random.Random(seed)
    app = make_app()
    done: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        for name, _title in SCREENS:
            while len(app.screen_stack) > 1:  # a dialog left open by the last screen
                app.pop_screen()
            await app.switch_mode(name)
            await pilot.pause()
            for kind, what in actions(rng, KEYS_PER_SCREEN):
                if kind == "key":
                    await pilot.press(str(what))
                elif kind == "text":
                    await pilot.press(*str(what))
                else:
                    await pilot.resize_terminal(*what)  # type: ignore[misc]
                assert app.is_running, f"seed {seed}: the app stopped on {name} after {kind} {what!r}"
            done.append(name)
            await pilot.pause()
        await settle(pilot)
    assert app.return_code in (None, 0), f"seed {seed}: the app failed on {done[-1] if done else '?'}"
    assert done == [name for name, _ in SCREENS]
