"""Which workspace ``lmf-tui`` opens, the demo created on first use, and the command line's errors."""

import subprocess
import sys
from pathlib import Path

import pytest

from lmf_tui import __main__ as cli
from lmf_tui.workspace import Workspace, ensure_demo, has_workspace


def test_has_workspace(tmp_path: Path, demo_workspace: Path) -> None:
    assert has_workspace(demo_workspace)
    assert not has_workspace(tmp_path)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "a.yml").write_text("stage: sft\n")
    assert has_workspace(tmp_path)


def test_directory_argument_wins(tmp_path: Path, demo_workspace: Path) -> None:
    chosen = cli.choose_workspace(str(tmp_path), False, tmp_path / "demo", demo_workspace)
    assert chosen == Workspace(tmp_path.resolve())


def test_current_directory_when_it_is_a_workspace(tmp_path: Path, demo_workspace: Path) -> None:
    chosen = cli.choose_workspace(None, False, tmp_path / "demo", demo_workspace)
    assert chosen == Workspace(demo_workspace.resolve())


def test_demo_when_the_current_directory_has_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Path] = []

    def fake_demo(folder: Path) -> bool:
        made.append(folder)
        (folder / "data").mkdir(parents=True)
        (folder / "data" / "dataset_info.json").write_text("{}")
        return True

    monkeypatch.setattr(cli, "ensure_demo", fake_demo)
    empty = tmp_path / "empty"
    empty.mkdir()
    chosen = cli.choose_workspace(None, False, tmp_path / "demo", empty)
    assert chosen == Workspace((tmp_path / "demo").resolve(), is_demo=True)
    assert made == [(tmp_path / "demo").resolve()]
    assert cli.choose_workspace(None, True, tmp_path / "demo", empty).is_demo
    assert len(made) == 1  # created once, reused after


@pytest.mark.slow
def test_ensure_demo_builds_it_in_a_child_process(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    assert ensure_demo(target) is True
    assert (target / "data" / "dataset_info.json").is_file()
    assert (target / "models" / "tiny-qwen2" / "tokenizer.json").is_file()
    assert ensure_demo(target) is False


def test_ensure_demo_failure_says_why(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RuntimeError, match="cannot create the demo workspace"):
        ensure_demo(blocker / "demo")


def test_missing_directory_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.choose_workspace(str(tmp_path / "nope"), False, tmp_path, tmp_path)
    assert exit_info.value.code == 2
    assert "nope: no such folder" in capsys.readouterr().err


def test_bad_settings_exit_2_without_traceback(tmp_path: Path) -> None:
    settings = tmp_path / "tui.toml"
    settings.write_text("page_size = 1\n")
    env = {"PATH": "", "HOME": str(tmp_path), "LMF_TUI_SETTINGS": str(settings)}
    done = subprocess.run(
        [sys.executable, "-m", "lmf_tui", str(tmp_path)], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"lmf-tui: error: {settings}: page_size: expected a whole number from 10 to 10000, not 1"
    )


def test_help_names_the_demo_location() -> None:
    done = subprocess.run([sys.executable, "-m", "lmf_tui", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "lmf-workbench/demo" in done.stdout
    assert "DIR" in done.stdout


def test_workspace_paths(demo_workspace: Path) -> None:
    ws = Workspace(demo_workspace)
    assert ws.display(demo_workspace / "configs" / "sft_lora.yaml") == "configs/sft_lora.yaml"
    assert ws.resolve("data") == demo_workspace / "data"
    assert ws.resolve("/abs") == Path("/abs")
    assert ws.default_config() == demo_workspace / "configs" / "sft_lora.yaml"
    config = ws.load_config(ws.default_config())  # type: ignore[arg-type]
    assert config.get("model_name_or_path") == str(demo_workspace / "models" / "tiny-qwen2")
    assert ws.dataset_dir(config) == demo_workspace / "data"
    override = ws.load_config(ws.default_config(), {"template": "llama3"})  # type: ignore[arg-type]
    assert override.get("template") == "llama3"
