"""Train screen: re-attaching to runs, the launch preview, starting (conflicts, validation errors), stop, resume,
failures and what to do with a finished run. Starts use the fake trainer; the real one runs in the end-to-end test."""

import functools
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from fixtures.fake_runs import append_steps, write_fake_run
from textual.widgets import Input, Log, Select
from tui_support import SIZE, settle, wait_until

from lmf_engine.config import load_config
from lmf_engine.runs.launcher import start_run
from lmf_engine.runs.record import read_run
from lmf_engine.runs.store import resume_run
from lmf_tui.app import WorkbenchApp
from lmf_tui.screens.choose import ChooseScreen
from lmf_tui.screens.config import ConfigScreen
from lmf_tui.screens.train import TrainScreen
from lmf_tui.widgets.metric_chart import MetricChart
from lmf_tui.widgets.run_view import RunView

FAKE_TRAINER = Path(__file__).parents[1] / "engine" / "runs" / "fake_trainer.py"


def text_of(screen: TrainScreen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def open_train(app: WorkbenchApp, pilot: object) -> TrainScreen:
    await pilot.press("4")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]
    assert isinstance(app.screen, TrainScreen)
    return app.screen


@pytest.fixture
def fake_trainer(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Starts from the screen run the fake trainer (in the workspace) instead of a real training child."""
    shutil.copy(FAKE_TRAINER, workspace / "fake_trainer.py")
    monkeypatch.setattr("lmf_tui.launch.start_run", functools.partial(start_run, entry_module="fake_trainer"))
    monkeypatch.setattr("lmf_tui.run_actions.resume_run", functools.partial(resume_run, entry_module="fake_trainer"))
    monkeypatch.setenv("FAKE_TRAINER_MODE", "finish")
    monkeypatch.setenv("FAKE_TRAINER_STEPS", "5")
    monkeypatch.setenv("FAKE_TRAINER_DELAY", "0.05")
    return workspace


async def test_reattaches_to_the_run_still_going(make_app: Callable[..., WorkbenchApp], workspace: Path) -> None:
    write_fake_run(workspace / "runs" / "older", 40, eval_every=20)
    live = write_fake_run(workspace / "runs" / "live", 30, total_steps=100, state="running")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_train(app, pilot)
        view = screen.query_one(RunView)
        await wait_until(pilot, lambda: view.info is not None)
        assert view.run_dir == live
        assert "running" in text_of(screen, "#run-status") and "step 30/100" in text_of(screen, "#run-status")
        await wait_until(pilot, lambda: {"loss", "lr", "grad_norm"} <= {c.metric for c in screen.query(MetricChart)})
        append_steps(live, 31, 20)
        await wait_until(pilot, lambda: "step 50/100" in text_of(screen, "#run-status"))
        assert screen.focused is None or not isinstance(screen.focused, MetricChart)


async def test_preview_shows_the_command_and_run_folder(make_app: Callable[..., WorkbenchApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_train(app, pilot)
        screen.query_one("#launch-dir", Input).value = "runs/try-1"
        await wait_until(pilot, lambda: "runs/try-1" in text_of(screen, "#launch-preview"))
        preview = text_of(screen, "#launch-preview")
        assert "-m lmf_engine.train" in preview and "Processes 1" in preview
        screen.query_one("#launch-processes", Input).value = "2"
        await wait_until(pilot, lambda: "--multi_gpu" in text_of(screen, "#launch-preview"))


async def test_unsaved_changes_in_config_are_pointed_out(make_app: Callable[..., WorkbenchApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await settle(pilot)
        config = app.screen
        assert isinstance(config, ConfigScreen)
        config.doc.set("learning_rate", 0.5)
        assert app.unsaved_work()
        screen = await open_train(app, pilot)
        await wait_until(
            pilot, lambda: "unsaved changes to configs/sft_lora.yaml" in text_of(screen, "#launch-preview")
        )


async def test_a_config_error_stops_the_start_and_points_at_the_field(
    make_app: Callable[..., WorkbenchApp], workspace: Path
) -> None:
    broken = workspace / "configs" / "broken.yaml"
    text = (workspace / "configs" / "sft_lora.yaml").read_text()
    broken.write_text(text.replace("lr_scheduler_type: cosine", "lr_scheduler_type: sometimes"))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_train(app, pilot)
        screen.query_one("#launch-config", Select).value = str(broken)
        await wait_until(pilot, lambda: "problem(s) stop the start" in text_of(screen, "#launch-preview"))
        assert "lr_scheduler_type" in text_of(screen, "#launch-preview")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert not (workspace / "runs" / "sft_lora").exists()
        await pilot.press("ctrl+g")
        await settle(pilot)
        config = app.screen
        assert isinstance(config, ConfigScreen) and config.doc.path == broken
        await wait_until(pilot, lambda: config.focused is not None and config.focused.id == "editor")
        assert config.focused.parent.parent.id == "field-lr_scheduler_type"


async def test_a_misspelt_dataset_stops_the_start_with_a_did_you_mean(
    make_app: Callable[..., WorkbenchApp], workspace: Path
) -> None:
    typo = workspace / "configs" / "typo.yaml"
    text = (workspace / "configs" / "sft_lora.yaml").read_text()
    dataset_line = next(line for line in text.splitlines() if line.startswith("dataset:"))
    typo.write_text(text.replace(dataset_line, dataset_line.replace("demo_sft", "demo_sfft")))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_train(app, pilot)
        screen.query_one("#launch-config", Select).value = str(typo)
        await wait_until(pilot, lambda: "did you mean demo_sft" in text_of(screen, "#launch-preview"))
        assert "problem(s) stop the start" in text_of(screen, "#launch-preview")


async def test_start_then_stop_then_resume(
    make_app: Callable[..., WorkbenchApp], fake_trainer: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_TRAINER_MODE", "wait")
    app = make_app()
    run_dir = fake_trainer / "runs" / "sft_lora"
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_train(app, pilot)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: screen.query_one(RunView).run_dir == run_dir)
        await wait_until(pilot, lambda: "running" in text_of(screen, "#run-status"))
        await pilot.press("ctrl+x")
        await pilot.pause()
        assert isinstance(app.screen, ChooseScreen)
        await pilot.press("y")
        await wait_until(pilot, lambda: read_run(run_dir).state == "stopped", timeout=20)
        await wait_until(pilot, lambda: "stopped" in text_of(screen, "#run-status"))
        monkeypatch.setenv("FAKE_TRAINER_MODE", "finish")
        await pilot.press("ctrl+e")
        await pilot.pause()
        assert isinstance(app.screen, ChooseScreen)
        await pilot.press("enter")
        await wait_until(pilot, lambda: read_run(run_dir).state == "finished", timeout=20)
        assert read_run(run_dir).resumed_from.startswith(str(run_dir / "checkpoint-"))


async def test_a_taken_run_folder_offers_resume_overwrite_or_a_new_name(
    make_app: Callable[..., WorkbenchApp], fake_trainer: Path
) -> None:
    taken = write_fake_run(fake_trainer / "runs" / "sft_lora", 20, save_every=10)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_train(app, pilot)
        await wait_until(pilot, lambda: "holds run sft_lora (finished)" in text_of(screen, "#launch-preview"))
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: isinstance(app.screen, ChooseScreen))
        labels = [str(o.prompt) for o in app.screen.query_one("#choices").options]
        assert [label[:3] for label in labels] == ["[r]", "[n]", "[o]"]
        await pilot.press("n")
        other = fake_trainer / "runs" / "sft_lora-2"
        await wait_until(pilot, lambda: (other / "run.json").exists() and read_run(other).state == "finished")
        assert read_run(taken).state == "finished" and (taken / "checkpoint-20").is_dir()
        assert screen.query_one("#launch-dir", Input).value == "runs/sft_lora-2"
        screen.query_one("#launch-dir", Input).value = "runs/sft_lora"
        old_id = read_run(taken).id
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: isinstance(app.screen, ChooseScreen))
        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, ChooseScreen) and "Overwrite" in app.screen.title_text)
        await pilot.press("y")
        await wait_until(pilot, lambda: (taken / "run.json").exists() and read_run(taken).id != old_id, timeout=20)
        await wait_until(pilot, lambda: read_run(taken).state == "finished", timeout=20)
        assert not (taken / "checkpoint-20").exists() and (taken / "checkpoint-5").is_dir()


async def test_a_failed_run_shows_why(make_app: Callable[..., WorkbenchApp], workspace: Path) -> None:
    write_fake_run(workspace / "runs" / "oom", 12, state="failed")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_train(app, pilot)
        await wait_until(pilot, lambda: screen.query_one(RunView).has_class("-failed"))
        error = text_of(screen, "#run-error")
        assert "CUDA out of memory" in error and "torch.OutOfMemoryError" in error
        assert "failed" in text_of(screen, "#run-status")
        await wait_until(pilot, lambda: screen.query_one("#run-stdout", Log).line_count > 0)


async def test_a_finished_run_gives_chat_and_export_commands_and_opens_the_chat_screen_on_it(
    make_app: Callable[..., WorkbenchApp], workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fixtures.fake_chat import FakeChatEngine

    from lmf_engine.chat.target import ChatTarget
    from lmf_tui import chat_open
    from lmf_tui.screens.chat import ChatScreen

    opened: list[list[ChatTarget]] = []

    def open_engines(targets: list[ChatTarget], root: Path, current: dict, release: Callable) -> list:
        opened.append(list(targets))
        return [FakeChatEngine() for _ in targets]

    monkeypatch.setattr(chat_open, "open_engines", open_engines)
    run = write_fake_run(workspace / "runs" / "done", 10)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_train(app, pilot)
        await wait_until(pilot, lambda: screen.query_one(RunView).info is not None)
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, ChooseScreen))
        assert "lmf-engine chat" in app.screen.message and "lmf-engine export" in app.screen.message
        await pilot.press("c")
        chat = await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen) and app.screen)
        await wait_until(pilot, lambda: chat.sides[0].engine is not None)
        assert opened[-1] == [ChatTarget("run", str(run))]
    values = yaml.safe_load((run / "inference.yaml").read_text())
    assert values["adapter_name_or_path"] == str(run) and values["finetuning_type"] == "lora"
    config = load_config(run / "inference.yaml")
    assert config.get("export_dir") == str(run.parent / "done-merged")


@pytest.mark.slow
async def test_a_real_run_outlives_the_app_and_is_seen_to_the_end(
    make_app: Callable[..., WorkbenchApp], workspace: Path
) -> None:
    text = (workspace / "configs" / "sft_lora.yaml").read_text()
    config = workspace / "configs" / "e2e.yaml"
    config.write_text(text.replace("max_steps: 20", "max_steps: 40").replace("runs/sft_lora", "runs/e2e"))
    run_dir = workspace / "runs" / "e2e"
    first = make_app()
    async with first.run_test(size=SIZE) as pilot:
        screen = await open_train(first, pilot)
        screen.query_one("#launch-config", Select).value = str(config)
        await pilot.pause(0.5)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: screen.query_one(RunView).run_dir == run_dir, timeout=30)
        await wait_until(pilot, lambda: read_run(run_dir).state == "running", timeout=60)
    record = read_run(run_dir)
    assert record.state == "running", "the run must go on after the app has quit"
    second = make_app()
    async with second.run_test(size=SIZE) as pilot:
        screen = await open_train(second, pilot)
        view = screen.query_one(RunView)
        await wait_until(pilot, lambda: view.run_dir == run_dir and view.info is not None)
        assert view.info.active, "re-attached while the run was still going"
        await wait_until(pilot, lambda: view.info is not None and view.info.state == "finished", timeout=300)
        await wait_until(pilot, lambda: "finished" in text_of(screen, "#run-status"))
        await settle(pilot)
        await pilot.pause(1.0)
        logged = [line for line in (run_dir / "trainer_log.jsonl").read_text().splitlines() if '"loss"' in line]
        assert view.poller is not None
        assert len(view.poller.history.series["loss"]) == len(logged) == 40
        assert "loss" in {chart.metric for chart in screen.query(MetricChart)}


async def test_on_a_small_terminal_the_launch_form_folds(make_app: Callable[..., WorkbenchApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_train(app, pilot)
        panel, view = screen.query_one("#launch"), screen.query_one(RunView)
        assert not panel.display and view.display
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert panel.display and not view.display and panel.size.width > 60
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert not panel.display and view.display
