"""Config screen: the form from the engine's schema, live validation, YAML preview, diff, open/save/save as/new."""

import shutil
from collections.abc import Callable
from pathlib import Path

from textual.widgets import Collapsible, Input, OptionList, Select, TabbedContent
from tui_support import SIZE, settle, wait_until

from lmf_tui.app import WorkbenchApp
from lmf_tui.screens.ask import AskScreen
from lmf_tui.screens.config import ConfigScreen
from lmf_tui.screens.datasets import DatasetsScreen
from lmf_tui.screens.error import ErrorPanel
from lmf_tui.widgets.config_form import ConfigForm
from lmf_tui.widgets.field_row import FieldRow

LF_EXAMPLE = Path("/work/shared/lmf-examples/train_lora/qwen3_lora_sft.yaml")
LF_TEXT = """\
### model
model_name_or_path: Qwen/Qwen3-4B-Instruct-2507
trust_remote_code: true

### method
stage: sft
finetuning_type: lora
lora_rank: 8
learning_rate: 1.0e-4
report_to: none  # choices: [none, wandb, tensorboard, swanlab, mlflow]
use_unsloth: true
"""


def text_of(screen: ConfigScreen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def open_config(app: WorkbenchApp, pilot: object) -> ConfigScreen:
    await pilot.press("3")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]
    assert isinstance(app.screen, ConfigScreen)
    return app.screen


async def show_group(screen: ConfigScreen, pilot: object, group: str) -> None:
    groups = screen.query_one("#groups", OptionList)
    index = next(i for i in range(groups.option_count) if groups.get_option_at_index(i).id == group)
    groups.highlighted = index
    await pilot.pause()  # type: ignore[attr-defined]


def row(screen: ConfigScreen, key: str) -> FieldRow:
    form = screen.query_one(ConfigForm).current_group()
    assert form is not None
    return form.query_one(f"#field-{key}", FieldRow)


async def test_form_is_built_from_the_schema(make_app: Callable[..., WorkbenchApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_config(app, pilot)
        groups = screen.query_one("#groups", OptionList)
        prompts = [str(groups.get_option_at_index(i).prompt) for i in range(groups.option_count)]
        assert prompts[:2] == ["model (1)", "data (7)"]
        assert [p.split(" ")[0] for p in prompts] == [
            "model",
            "data",
            "finetuning",
            "training",
            "generating",
            "evaluation",
            "export",
        ]
        assert text_of(screen, "#doc-title") == "configs/sft_lora.yaml · saved · valid"
        model_path = row(screen, "model_name_or_path").query_one(Input)
        assert model_path.value == "models/tiny-qwen2"
        flash = row(screen, "flash_attn").query_one(Select)
        assert [label for label, _ in row(screen, "flash_attn").options or []] == [
            "auto",
            "disabled",
            "sdpa",
            "fa2",
            "fa3",
        ]
        assert flash.value is Select.NULL  # not set in the file: the default applies
        assert row(screen, "trust_remote_code").query_one(Select)
        form = screen.query_one(ConfigForm).current_group()
        assert not form.query("#field-cache_dir")  # advanced: folded away and not even built yet
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert not form.query_one(Collapsible).collapsed
        assert form.query("#field-cache_dir")
        await pilot.press("ctrl+t")
        assert form.query_one(Collapsible).collapsed


async def test_help_beside_the_focused_field(make_app: Callable[..., WorkbenchApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_config(app, pilot)
        await show_group(screen, pilot, "finetuning")
        row(screen, "lora_rank").query_one(Input).focus()
        await pilot.pause()
        help_text = text_of(screen, "#help")
        assert "lora_rank" in help_text and "LoRA rank." in help_text
        assert "type int" in help_text and "default 8" in help_text and "range >= 1" in help_text
        row(screen, "finetuning_type").query_one(Select).focus()
        await wait_until(pilot, lambda: "one of lora, oft, freeze, full" in text_of(screen, "#help"))


async def test_live_validation_preview_and_diff(make_app: Callable[..., WorkbenchApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_config(app, pilot)
        await show_group(screen, pilot, "finetuning")
        rank = row(screen, "lora_rank")
        rank.query_one(Input).focus()
        await pilot.press("ctrl+u", *"abc")
        await settle(pilot)
        await pilot.pause(0.3)
        assert rank.has_class("-invalid")
        assert "lora_rank='abc': expected an integer" in text_of(screen, "#issues-text")
        assert "expected an integer" in text_of(screen, "#help")
        assert "1 problem" in text_of(screen, "#doc-title")
        await pilot.press("ctrl+u", "1", "6")
        await pilot.pause(0.3)
        assert not rank.has_class("-invalid")
        assert "No problems" in text_of(screen, "#issues-text")
        assert "lora_rank: 16" in text_of(screen, "#yaml-text")
        diff = text_of(screen, "#diff-text")
        assert "-lora_rank: 8" in diff and "+lora_rank: 16" in diff
        assert "modified" in text_of(screen, "#doc-title")
        await pilot.press("ctrl+l")
        assert screen.query_one(TabbedContent).active == "yaml"
        await pilot.press("ctrl+l")
        assert screen.query_one(TabbedContent).active == "diff"
        rule = row(screen, "pref_loss").query_one(Select)
        rule.value = "orpo"
        await pilot.pause(0.3)
        assert screen.doc.values["pref_loss"] == "orpo"
        rule.clear()
        await pilot.pause(0.3)
        assert "pref_loss" not in screen.doc.values
        await pilot.press("escape")
        assert app.focused is screen.query_one("#groups")
        await pilot.press("1")
        assert isinstance(app.screen, DatasetsScreen)


async def test_save_keeps_comments_atomically(make_app: Callable[..., WorkbenchApp], workspace: Path) -> None:
    path = workspace / "configs" / "sft_lora.yaml"
    before = path.read_text()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_config(app, pilot)
        await show_group(screen, pilot, "finetuning")
        row(screen, "lora_rank").query_one(Input).value = "32"
        await pilot.pause(0.3)
        await pilot.press("ctrl+s")
        await settle(pilot)
        after = path.read_text()
        assert after == before.replace("lora_rank: 8", "lora_rank: 32")
        assert "# Supervised fine-tuning with LoRA" in after
        assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []
        assert "saved" in text_of(screen, "#doc-title") and "modified" not in text_of(screen, "#doc-title")
        assert "No changes" in text_of(screen, "#diff-text")


async def test_save_as_and_new_from_example(make_app: Callable[..., WorkbenchApp], workspace: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_config(app, pilot)
        await pilot.press("ctrl+n")
        assert isinstance(app.screen, AskScreen)
        choices = app.screen.query_one(OptionList)
        ids = [choices.get_option_at_index(i).id for i in range(choices.option_count)]
        assert str(workspace / "configs" / "dpo_lora.yaml") in ids
        choices.focus()
        choices.highlighted = ids.index(str(workspace / "configs" / "dpo_lora.yaml"))
        await pilot.press("enter")
        await settle(pilot)
        assert screen.doc.path is None
        assert screen.doc.values["stage"] == "dpo"
        assert "new config from configs/dpo_lora.yaml (not saved)" in text_of(screen, "#doc-title")
        await pilot.press("ctrl+s")  # no file yet: asks where
        assert isinstance(app.screen, AskScreen)
        app.screen.query_one(Input).value = "configs/sft_lora.yaml"
        await pilot.press("enter")  # exists: refused
        await pilot.pause()
        assert not (workspace / "configs" / "mine.yaml").exists()
        assert screen.doc.path is None
        await pilot.press("f2")
        assert isinstance(app.screen, AskScreen)
        await pilot.press("ctrl+u", *"configs/mine.yaml", "enter")
        await settle(pilot)
        mine = workspace / "configs" / "mine.yaml"
        assert mine.read_text().startswith("# Direct preference optimisation (DPO)")
        assert screen.doc.path == mine
        assert app.config_path == mine
        assert text_of(screen, "#doc-title") == "configs/mine.yaml · saved · valid"


async def test_open_llamafactory_yaml_with_unsupported_keys(
    make_app: Callable[..., WorkbenchApp], tmp_path: Path
) -> None:
    example = tmp_path / "qwen3_lora_sft.yaml"
    if LF_EXAMPLE.is_file():
        shutil.copy(LF_EXAMPLE, example)
        example.write_text(example.read_text() + "use_unsloth: true\n")
    else:
        example.write_text(LF_TEXT)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_config(app, pilot)
        await pilot.press("ctrl+o")
        assert isinstance(app.screen, AskScreen)
        app.screen.query_one(Input).value = str(example)
        await pilot.press("enter")
        await settle(pilot)
        assert screen.doc.path == example
        assert row(screen, "model_name_or_path").query_one(Input).value == "Qwen/Qwen3-4B-Instruct-2507"
        issues = text_of(screen, "#issues-text")
        assert "use_unsloth" in issues and "key that lmf workbench does not support yet" in issues
        await show_group(screen, pilot, "other")
        unsupported = row(screen, "use_unsloth")
        assert unsupported.has_class("-invalid")
        unsupported.query_one(Input).value = ""
        await pilot.pause(0.3)
        assert "No problems" in text_of(screen, "#issues-text")
        diff = text_of(screen, "#diff-text")
        assert "-use_unsloth: true" in diff
        assert "# choices: [none, wandb" in text_of(screen, "#yaml-text")


async def test_open_bad_yaml_names_file_and_line(make_app: Callable[..., WorkbenchApp], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("stage: sft\nlora_rank: [8\n")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_config(app, pilot)
        await pilot.press("ctrl+o")
        app.screen.query_one(Input).value = str(bad)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ErrorPanel)
        assert app.screen.message.startswith(f"{bad}:3: not valid YAML")
        await pilot.press("escape")
        assert screen.doc.path == app.workspace.root / "configs" / "sft_lora.yaml"


async def test_unsaved_changes_need_a_second_ask(make_app: Callable[..., WorkbenchApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_config(app, pilot)
        row(screen, "model_name_or_path").query_one(Input).value = "elsewhere"
        await pilot.pause(0.3)
        await pilot.press("ctrl+o")
        assert app.screen is screen
        assert "Unsaved changes" in str(list(app._notifications)[-1].message)
        await pilot.press("ctrl+o")
        assert isinstance(app.screen, AskScreen)
        await pilot.press("escape")
        assert app.screen is screen


async def test_focus_key_reaches_an_advanced_key_of_a_group_not_shown_yet(
    make_app: Callable[..., WorkbenchApp],
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_config(app, pilot)
        assert screen.query_one(ConfigForm).focus_key("include_effective_tokens_per_second")
        await settle(pilot)
        focused = app.focused
        assert focused is not None and any(
            isinstance(a, FieldRow) and a.key == "include_effective_tokens_per_second" for a in focused.ancestors
        )
