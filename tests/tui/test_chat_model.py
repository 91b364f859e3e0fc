"""Chat screen on the real tiny model: it opens on the newest finished run (base + LoRA adapter), answers, shows
the prompt as tokens, runs A/B base vs adapter on one copy of the base weights, and frees a model it switches from."""

import gc
import weakref
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures.fake_runs import write_fake_run
from fixtures.tiny_adapter import make_lora_adapter
from textual.widgets import Input
from tui_support import SIZE, settle, wait_until

from lmf_engine.chat.pair import parameter_bytes
from lmf_engine.chat.target import ChatTarget
from lmf_tui.app import WorkbenchApp
from lmf_tui.screens.chat import ChatScreen
from lmf_tui.screens.prompt_tokens import PromptTokensScreen
from lmf_tui.widgets.chat_column import ChatColumn
from lmf_tui.widgets.chat_turn import AnswerTurn
from lmf_tui.widgets.message_input import MessageInput


@pytest.fixture
def lora_run(workspace: Path, tiny_model_dir: Path) -> Path:
    """A finished LoRA run of the tiny model in the workspace (its adapter saved by peft in the run folder)."""
    run_dir = write_fake_run(workspace / "runs" / "sft_lora", 5, model=str(tiny_model_dir))
    return make_lora_adapter(tiny_model_dir, run_dir)


async def send(pilot: object, screen: ChatScreen, text: str) -> None:
    box = screen.query_one(MessageInput)
    box.text = text
    box.focus()
    await pilot.press("enter")  # type: ignore[attr-defined]
    await wait_until(pilot, lambda: all(side.last_is_answer() for side in screen.active), timeout=60)  # type: ignore[arg-type]
    await settle(pilot)  # type: ignore[arg-type]


async def test_a_finished_run_answers_and_shows_its_prompt_as_tokens(
    make_app: Callable[..., WorkbenchApp], lora_run: Path
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        screen = await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen) and app.screen)
        assert screen.sides[0].target == ChatTarget("run", "runs/sft_lora")
        await wait_until(pilot, lambda: screen.sides[0].engine is not None, timeout=60)
        screen.query_one("#set-max_new_tokens", Input).value = "16"
        await send(pilot, screen, "Hello")
        (answer,) = screen.query_one("#side-a", ChatColumn).query(AnswerTurn)
        assert "tokens/s" in str(answer.query_one("#figures").render())
        await pilot.press("ctrl+w")
        tokens = await wait_until(pilot, lambda: isinstance(app.screen, PromptTokensScreen) and app.screen)
        pieces = [token.text for token in tokens.sequence.tokens]
        assert "<|im_start|>" in pieces and tokens.sequence.counts()["special"] >= 3
        assert "".join(pieces).endswith("<|im_start|>assistant\n")
        assert tokens.sequence.input_ids == screen.sides[0].prompt_ids


async def test_ab_base_vs_adapter_shares_one_base_and_switching_frees_the_model(
    make_app: Callable[..., WorkbenchApp], lora_run: Path, tiny_model_dir: Path
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        screen = await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen) and app.screen)
        await wait_until(pilot, lambda: screen.sides[0].engine is not None, timeout=60)
        single = parameter_bytes(screen.sides[0].engine)
        screen.sides[1].target = ChatTarget("run", "runs/sft_lora", base_only=True)
        screen.paired = True
        screen._load()
        await wait_until(pilot, lambda: all(side.engine is not None for side in screen.sides), timeout=60)
        a, b = (side.engine for side in screen.sides)
        assert parameter_bytes(a, b) < 1.2 * single
        await send(pilot, screen, "Hello")
        for side in screen.sides:
            assert side.messages[0] == {"role": "user", "content": "Hello"} and side.last_is_answer()
        model = weakref.ref(a.model)
        screen.paired = False
        screen.sides[0].target = ChatTarget("config", "configs/sft_lora.yaml")
        screen._load()
        await wait_until(pilot, lambda: screen.sides[0].engine is not None, timeout=60)
        del a, b
        gc.collect()
        assert model() is None
