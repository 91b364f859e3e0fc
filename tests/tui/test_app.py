"""The app shell: number keys, the screen-dependent palette, themes, the error panel, and a light first frame."""

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.color import Color
from textual.command import CommandPalette
from textual.widgets import Input
from tui_support import SIZE, settle

from lmf_tui.app import WorkbenchApp
from lmf_tui.palette import WorkbenchCommands
from lmf_tui.screens.chat import ChatScreen
from lmf_tui.screens.config import ConfigScreen
from lmf_tui.screens.datasets import DatasetsScreen
from lmf_tui.screens.error import ErrorPanel
from lmf_tui.screens.keys import KeysScreen
from lmf_tui.screens.runs import RunsScreen
from lmf_tui.screens.train import TrainScreen
from lmf_tui.settings import load_settings

HEAVY = ("torch", "transformers", "peft", "trl", "datasets")


async def test_number_keys_switch_screens(make_app: Callable[..., WorkbenchApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, DatasetsScreen)
        await pilot.press("3")
        await settle(pilot)
        assert isinstance(app.screen, ConfigScreen)
        await pilot.press("escape", "1")
        assert isinstance(app.screen, DatasetsScreen)
        await pilot.press("4")
        await settle(pilot)
        assert isinstance(app.screen, TrainScreen)
        await pilot.press("escape", "5")
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("6")
        await settle(pilot)
        assert isinstance(app.screen, ChatScreen)
        await pilot.press("escape", "1")
        assert isinstance(app.screen, DatasetsScreen)
        assert set(app.MODES) == {"datasets", "template", "config", "train", "runs", "chat"}


async def test_question_mark_lists_every_binding(make_app: Callable[..., WorkbenchApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, KeysScreen)
        table = app.screen.query_one("#keys-table")
        assert table.row_count >= 25  # type: ignore[attr-defined]
        assert table.get_row("config.save_as")[3] == "config.save_as"  # type: ignore[attr-defined]
        await pilot.press("escape")
        assert isinstance(app.screen, DatasetsScreen)


async def titles(app: WorkbenchApp) -> list[str]:
    provider = WorkbenchCommands(app.screen)
    return [hit.text async for hit in provider.discover()]  # type: ignore[misc]


async def test_palette_commands_depend_on_the_screen(make_app: Callable[..., WorkbenchApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        on_datasets = await titles(app)
        assert "Datasets: token-length statistics" in on_datasets
        assert "Go to Config" in on_datasets and "Theme: lmf-light" in on_datasets
        assert not [t for t in on_datasets if t.startswith("Config:")]
        await pilot.press("3")
        await settle(pilot)
        on_config = await titles(app)
        assert {"Config: save", "Config: open…", "Config: new from example dpo_lora"} <= set(on_config)
        assert not [t for t in on_config if t.startswith("Datasets:")]
        await pilot.press("escape", "2")
        await settle(pilot)
        assert "Template: toggle token ids" in await titles(app)


async def test_palette_search_runs_a_command(make_app: Callable[..., WorkbenchApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"go to config")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfigScreen)


async def test_theme_chosen_in_palette_is_remembered(make_app: Callable[..., WorkbenchApp], tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "lmf-dark"
        await pilot.press("ctrl+p")
        await pilot.press(*"theme: lmf-light")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert app.theme == "lmf-light"
    path = tmp_path / "config" / "tui.toml"
    assert path.read_text() == 'theme = "lmf-light"\n'
    assert load_settings({"LMF_TUI_SETTINGS": str(path)}).theme == "lmf-light"
    assert make_app().theme == "lmf-light"


def test_only_lmf_themes_are_offered_and_a_user_theme_loads(
    make_app: Callable[..., WorkbenchApp], tmp_path: Path
) -> None:
    themes = tmp_path / "themes"
    themes.mkdir()
    shipped = Path(__file__).resolve().parents[2] / "lmf_tui" / "themes" / "lmf-light.toml"
    (themes / "mine.toml").write_text(shipped.read_text().replace('"lmf-light"', '"mine"'))
    (themes / "broken.toml").write_text('name = "broken"\n')
    app = make_app(theme="mine")
    assert app.lmf_themes == ["lmf-dark", "lmf-high-contrast", "lmf-light", "mine"]
    assert app.theme == "mine"
    assert any("broken.toml" in problem for problem in app.theme_problems)
    assert make_app(theme="no-such-theme").theme == "lmf-dark"


def test_styles_use_theme_variables_only() -> None:
    """No literal colour in any widget or screen style: every colour comes from the theme."""
    import re

    root = Path(__file__).resolve().parents[2] / "lmf_tui"
    literal = re.compile(r"#[0-9a-fA-F]{3,8}\b|\b(rgb|hsl)a?\(|\b(red|green|blue|white|black|yellow|magenta|cyan)\b")
    for path in [*root.glob("screens/*.py"), *root.glob("widgets/*.py"), root / "app.py"]:
        text = path.read_text()
        for css in re.findall(r'DEFAULT_CSS = """(.*?)"""', text, re.S) + re.findall(r'DEFAULT_CSS = "(.*?)"', text):
            css = re.sub(r"#[a-z][\w-]*", "", css)  # widget ids
            assert not literal.search(css), f"{path.name}: {literal.search(css)}"
        for style in re.findall(r'Content\.styled\([^,]+,\s*"([^"]+)"', text):
            assert "$" in style or style in ("bold", "italic"), f"{path.name}: {style}"


async def test_worker_user_error_shows_panel_and_app_lives_on(
    make_app: Callable[..., WorkbenchApp], workspace: Path
) -> None:
    (workspace / "data" / "demo_multiturn.jsonl").write_text('{"conversations": []}\n{not json\n')
    (workspace / "data" / "demo_dpo.json").write_text('[{"instruction": "a"}, oops]')
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down")  # demo_multiturn
        await settle(pilot)
        assert isinstance(app.screen, ErrorPanel)
        message = str(app.screen.query_one("#error-message").render())
        assert "data/demo_multiturn.jsonl:2:2: invalid JSON" in message
        assert app.screen.details is None
        await pilot.press("escape")
        assert isinstance(app.screen, DatasetsScreen)
        assert "failed" in str(app.screen.query_one("#rows-title").render())
        assert app.screen.query_one("#dataset-list").get_row("demo_dpo")[4] == "unreadable"  # type: ignore[attr-defined]
        await pilot.press("up")
        await settle(pilot)
        assert app.screen.query_one("#rows").row_count == 100  # type: ignore[attr-defined]


async def test_unexpected_worker_error_shows_traceback(
    make_app: Callable[..., WorkbenchApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(row: dict, entry: object) -> None:
        raise RuntimeError("converter exploded")

    monkeypatch.setattr("lmf_tui.screens.datasets_jobs.check_row", broken)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ErrorPanel)
        assert app.screen.message == "RuntimeError: converter exploded"
        assert "Traceback" in (app.screen.details or "")
        await pilot.press("enter")
        await pilot.press("3")
        await settle(pilot)
        assert isinstance(app.screen, ConfigScreen)
        assert app.is_running


def test_first_frame_imports_no_heavy_library(workspace: Path, tmp_path: Path) -> None:
    """Start the app headless in a fresh process up to its first frame; torch & co. must not be imported."""
    code = textwrap.dedent(
        f"""
        import asyncio, json, sys, time
        from pathlib import Path
        start = time.perf_counter()
        from lmf_tui.app import WorkbenchApp
        from lmf_tui.settings import Settings
        from lmf_tui.workspace import Workspace

        class Probe(WorkbenchApp):
            def on_ready(self):
                self.first_frame = time.perf_counter() - start

        async def main():
            app = Probe(Workspace(Path({str(workspace)!r})), Settings(path=None))
            async with app.run_test(size=(120, 40)) as pilot:
                await pilot.pause()
                await app.workers.wait_for_complete()
                await pilot.pause()
                heavy = [m for m in {HEAVY!r} if m in sys.modules]
                print(json.dumps({{"heavy": heavy, "first_frame": app.first_frame}}))

        asyncio.run(main())
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    assert result["first_frame"] < 3.0  # < 1 s on an idle machine (benchmarks/tui.py); slack for busy CI


def test_the_chat_screen_imports_no_heavy_library_until_it_loads_a_model(workspace: Path) -> None:
    """The demo's chat config needs a trained adapter: the screen says so without importing torch & co."""
    code = textwrap.dedent(
        f"""
        import asyncio, json, sys
        from pathlib import Path
        from lmf_tui.app import WorkbenchApp
        from lmf_tui.settings import Settings
        from lmf_tui.workspace import Workspace

        async def main():
            app = WorkbenchApp(Workspace(Path({str(workspace)!r})), Settings(path=None))
            async with app.run_test(size=(120, 40)) as pilot:
                await pilot.press("6")
                while not app.screen.query("#load-error"):
                    await pilot.pause(0.05)
                print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))

        asyncio.run(main())
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


async def test_quit_and_the_unsaved_config_guard(make_app: Callable[..., WorkbenchApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await settle(pilot)
        app.screen.query_one("#field-model_name_or_path Input", Input).value = "other"
        await pilot.pause(0.3)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.is_running
        assert "unsaved changes to configs/sft_lora.yaml" in str(list(app._notifications)[-1].message)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not app.is_running


async def test_token_colours_exist_for_any_theme(make_app: Callable[..., WorkbenchApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.theme_variables["token-trained"] == "#5CBF7A"  # from themes/lmf-dark.toml
        app.theme = "textual-light"  # a theme without lmf's variables
        await pilot.pause()
        for name in ("token-trained", "token-masked", "token-special"):
            Color.parse(app.theme_variables[name])
