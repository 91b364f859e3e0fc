"""Template screen: a dataset row or typed messages through a template and the config's tokenizer, with traps."""

from collections.abc import Callable

import pytest
from textual.widgets import Input, Select, TextArea
from tui_support import SIZE, settle

from lmf_tui.app import WorkbenchApp
from lmf_tui.screens.template import TemplateScreen, parse_typed
from lmf_tui.widgets.token_view import TokenPane

pytestmark = pytest.mark.slow  # loads a tokenizer (transformers)


def text_of(screen: TemplateScreen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def rendered(app: WorkbenchApp, pilot: object) -> TemplateScreen:
    await pilot.pause(0.4)  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]
    assert isinstance(app.screen, TemplateScreen)
    return app.screen


def test_parse_typed_messages() -> None:
    assert parse_typed("system: be brief\nuser: hi\nthere\nassistant: hello") == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi\nthere"},
        {"role": "assistant", "content": "hello"},
    ]
    assert parse_typed('[{"role": "user", "content": "x"}]') == [{"role": "user", "content": "x"}]


async def test_dataset_row_tokens_ids_and_traps(make_app: Callable[..., WorkbenchApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        screen = await rendered(app, pilot)
        info = text_of(screen, "#tpl-info")
        assert info.startswith("demo_sft row 1 · template qwen · stage sft · tokenizer models/tiny-qwen2")
        assert "cutoff_len 256" in info
        tokens = text_of(screen, "#token-text")
        assert "What is 4 plus 6?" in tokens and "<|im_end|>" in tokens
        assert "sample: " in tokens and " trained, " in tokens and " special" in tokens
        assert "⟨" not in tokens
        assert "template_mismatch" not in text_of(screen, "#trap-text")  # the demo model's jinja is qwen's
        await pilot.press("ctrl+t")
        assert "⟨" in text_of(screen, "#token-text")
        await pilot.press("ctrl+t")
        assert "⟨" not in text_of(screen, "#token-text")
        screen.query_one("#tpl-row", Input).value = "3"
        screen = await rendered(app, pilot)
        assert "Subtract 18 from 32." in text_of(screen, "#token-text")
        screen.query_one("#tpl-template", Select).value = "chatml"
        screen = await rendered(app, pilot)
        assert "template_mismatch" in text_of(screen, "#trap-text")  # chatml writes no default system prompt
        screen.query_one("#tpl-template", Select).value = "hf"
        screen = await rendered(app, pilot)
        assert "template hf" in text_of(screen, "#tpl-info")
        assert "template_mismatch" not in text_of(screen, "#trap-text")


async def test_pairwise_dataset_shows_both_sequences(make_app: Callable[..., WorkbenchApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        screen = await rendered(app, pilot)
        screen.query_one("#tpl-dataset", Select).value = "demo_dpo"
        screen = await rendered(app, pilot)
        assert screen.query_one("#tpl-stage", Select).value == "rm"
        tokens = text_of(screen, "#token-text")
        assert "chosen: " in tokens and "rejected: " in tokens


async def test_typed_messages(make_app: Callable[..., WorkbenchApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        screen = await rendered(app, pilot)
        await pilot.press("ctrl+e")
        assert screen.has_class("-typed")
        editor = screen.query_one("#tpl-typed", TextArea)
        assert app.focused is editor
        editor.text = "user: How many legs has a spider?\nassistant: Eight."
        screen = await rendered(app, pilot)
        assert text_of(screen, "#tpl-info").startswith("typed messages · template qwen")
        assert "How many legs has a spider?" in text_of(screen, "#token-text")
        editor.text = "no role here"
        screen = await rendered(app, pilot)
        assert "start with a role" in text_of(screen, "#token-text")
        editor.text = "user: only a question"
        screen = await rendered(app, pilot)
        assert "cannot be used for stage sft: no response" in text_of(screen, "#token-text")
        await pilot.press("escape")
        assert app.focused is screen.query_one(TokenPane)
        await pilot.press("ctrl+e")
        assert not screen.has_class("-typed")


async def test_render_key_renders_again(make_app: Callable[..., WorkbenchApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("2")
        screen = await rendered(app, pilot)
        assert screen.last is not None
        screen.last = None
        screen.query_one(TokenPane).show_message("")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert screen.last is not None
        assert "What is 4 plus 6?" in text_of(screen, "#token-text")
