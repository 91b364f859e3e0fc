"""User text is never markup (dataset names and cells, config file names, paths in dialogs, notifications), a crash
exits non-zero, and unsaved config edits survive it: kept beside the file, offered on the next open."""

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import yaml
from tui_support import SIZE, settle, wait_until

from lmf_tui.app import WorkbenchApp
from lmf_tui.config_document import recovery_path
from lmf_tui.screens.ask import AskScreen
from lmf_tui.screens.choose import ChooseScreen
from lmf_tui.screens.config import ConfigScreen
from lmf_tui.screens.datasets import DatasetsScreen

MARKUP = "[x=1] [/nope] [bold"


def markup_workspace(root: Path) -> Path:
    """A workspace whose dataset name, columns, cells and config file name are all markup-like text."""
    data = root / "data"
    data.mkdir(parents=True)
    rows = [{"instruction": MARKUP, "output": f"[/{i}] {MARKUP}"} for i in range(3)]
    (data / "weird.json").write_text(json.dumps(rows), encoding="utf-8")
    info = {f"ds{MARKUP}": {"file_name": "weird.json", "columns": {"prompt": "instruction", "response": "output"}}}
    (data / "dataset_info.json").write_text(json.dumps(info), encoding="utf-8")
    (root / "configs").mkdir()
    (root / "configs" / "[x=.yml").write_text(f"model_name_or_path: '{MARKUP}'\nstage: sft\n", encoding="utf-8")
    return root


async def test_markup_like_text_is_shown_as_text_everywhere(
    make_app: Callable[..., WorkbenchApp], tmp_path: Path
) -> None:
    app = make_app(root=markup_workspace(tmp_path / "weird"))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, DatasetsScreen)
        await pilot.press("enter")
        await settle(pilot)
        app.notify(f"cannot open {MARKUP}", title=MARKUP)
        await pilot.press("3")
        await settle(pilot)
        assert isinstance(app.screen, ConfigScreen)
        await pilot.press("ctrl+o")
        ask = await wait_until(pilot, lambda: isinstance(app.screen, AskScreen) and app.screen)
        assert any("[x=.yml" in label for label, _ in ask.choices)
        await pilot.press("escape")
        await pilot.press("ctrl+q")  # unsaved? no: only a notification naming the file, then quit
        await settle(pilot)
    assert app.return_code in (0, None)


async def test_unsaved_edits_kept_on_a_crash_are_offered_on_the_next_open(
    make_app: Callable[..., WorkbenchApp], workspace: Path
) -> None:
    config = workspace / "configs" / "sft_lora.yaml"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ConfigScreen)
        screen.doc.set("learning_rate", 0.123)
        kept = app.recover_work()
    assert kept == recovery_path(config, workspace / "configs") and kept.name == ".sft_lora.yaml.recovered.yaml"
    assert yaml.safe_load(kept.read_text(encoding="utf-8"))["learning_rate"] == 0.123
    assert "0.123" not in config.read_text(encoding="utf-8")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        offer = await wait_until(pilot, lambda: isinstance(app.screen, ChooseScreen) and app.screen)
        assert "learning_rate" in offer.message
        await pilot.press("r")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ConfigScreen) and screen.doc.values["learning_rate"] == 0.123
        assert screen.unsaved_work() is not None
        await pilot.press("ctrl+s")
        await settle(pilot)
    assert not kept.exists() and "0.123" in config.read_text(encoding="utf-8")


def test_a_crash_exits_non_zero_and_keeps_the_unsaved_config(workspace: Path) -> None:
    """``lmf-tui`` itself (its main), headless: an edit, then an error in a handler."""
    code = textwrap.dedent(
        f"""
        import sys
        from lmf_tui import __main__ as entry
        from lmf_tui.app import WorkbenchApp
        from lmf_tui.screens.config import ConfigScreen

        async def pilot(pilot):
            await pilot.press("3")
            await pilot.pause(1.0)
            pilot.app.screen.doc.set("learning_rate", 0.456)
            pilot.app.call_later(lambda: 1 / 0)
            await pilot.pause(1.0)

        run = WorkbenchApp.run
        WorkbenchApp.run = lambda self, **kw: run(self, headless=True, size=(120, 40), auto_pilot=pilot)
        entry.main([{str(workspace)!r}])
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "ZeroDivisionError" in done.stderr + done.stdout
    kept = workspace / "configs" / ".sft_lora.yaml.recovered.yaml"
    assert f"kept in {kept}" in done.stderr
    assert yaml.safe_load(kept.read_text(encoding="utf-8"))["learning_rate"] == 0.456
