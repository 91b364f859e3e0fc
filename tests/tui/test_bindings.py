"""Bindings are data with stable ids; the user's keymap rebinds them in the running app."""

from collections.abc import Callable

import pytest
from tui_support import SIZE, settle

from lmf_tui.app import WorkbenchApp
from lmf_tui.bindings import KEY_IDS, KEYS, SCOPES, bindings_for, check_keymap
from lmf_tui.screens.config import ConfigScreen
from lmf_tui.screens.datasets import DatasetsScreen
from lmf_tui.screens.keys import KeysScreen
from lmf_tui.screens.template import TemplateScreen


def test_ids_are_unique_and_scoped() -> None:
    assert len(KEY_IDS) == len(KEYS)
    for spec in KEYS:
        assert spec.scope in SCOPES
        assert spec.id.split(".")[0] == spec.scope
    for scope in SCOPES:
        assert {b.id for b in bindings_for(scope)} == {s.id for s in KEYS if s.scope == scope}


def test_screens_take_their_bindings_from_the_data() -> None:
    for screen, scope in ((DatasetsScreen, "datasets"), (TemplateScreen, "template"), (ConfigScreen, "config")):
        assert [b.id for b in screen.BINDINGS] == [b.id for b in bindings_for(scope)]  # type: ignore[union-attr]
    assert [b.id for b in WorkbenchApp.BINDINGS] == [b.id for b in bindings_for("app")]  # type: ignore[union-attr]


def test_a_number_key_for_each_screen() -> None:
    numbers = {spec.keys: spec.action for spec in KEYS if spec.keys.isdigit()}
    assert numbers == {
        "1": "app.switch_mode('datasets')",
        "2": "app.switch_mode('template')",
        "3": "app.switch_mode('config')",
        "4": "app.switch_mode('train')",
        "5": "app.switch_mode('runs')",
        "6": "app.switch_mode('chat')",
    }


def test_keys_do_not_clash_within_a_screen() -> None:
    for scope in ("train", "runs", "run", "compare", "chat"):
        keys = [key for spec in KEYS if spec.scope in (scope, "app") for key in spec.keys.split(",")]
        assert len(keys) == len(set(keys)), scope


def test_check_keymap() -> None:
    assert check_keymap({"app.quit": " ctrl+x , f10 "}, "w") == {"app.quit": "ctrl+x,f10"}
    with pytest.raises(ValueError, match=r"w: 'app.qit' is not a binding id; did you mean app.quit\?"):
        check_keymap({"app.qit": "x"}, "w")
    with pytest.raises(ValueError, match="keys must be a non-empty text"):
        check_keymap({"app.quit": 3}, "w")


async def test_user_keymap_rebinds_screen_keys(make_app: Callable[..., WorkbenchApp]) -> None:
    app = make_app(keys={"app.screen.config": "f3", "app.keys": "f1"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        assert isinstance(app.screen, DatasetsScreen)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, ConfigScreen)
        await pilot.press("escape", "f1")
        assert isinstance(app.screen, KeysScreen)
        table = app.screen.query_one("#keys-table")
        row = table.get_row("app.screen.config")  # type: ignore[attr-defined]
        assert str(row[1]) == "f3"


async def test_footer_shows_screen_and_app_bindings(make_app: Callable[..., WorkbenchApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        shown = {b.binding.id for b in app.screen.active_bindings.values() if b.binding.show}
        assert {"datasets.stats", "datasets.search", "app.screen.template", "app.keys"} <= shown
        await pilot.press("3")
        await settle(pilot)
        shown = {b.binding.id for b in app.screen.active_bindings.values() if b.binding.show}
        assert {"config.save", "config.open", "config.save_as"} <= shown
        assert "datasets.stats" not in shown
