"""``lmf-engine chat`` as a user runs it: help without torch, clear errors, a streamed answer stopped by Ctrl-C."""

import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

HELP_CHECK = (
    "import sys\n"
    "from typer.testing import CliRunner\n"
    "from lmf_engine.cli.main import app\n"
    "for command in ('chat', 'api'):\n"
    "    result = CliRunner().invoke(app, [command, '--help'])\n"
    "    assert result.exit_code == 0, result.output\n"
    "print(sorted(m for m in ('torch', 'transformers', 'peft', 'fastapi', 'uvicorn') if m in sys.modules))\n"
)


def run(*args: str, stdin: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lmf_engine", *args], input=stdin, capture_output=True, text=True, cwd=cwd, timeout=180
    )


def test_help_imports_no_heavy_package() -> None:
    result = subprocess.run([sys.executable, "-c", HELP_CHECK], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give a CONFIG file, or --openai-base-url"),
        (("missing.yaml",), "'missing.yaml' does not exist"),
    ],
)
def test_user_errors_exit_2(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    result = run("chat", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_config_problems_and_a_missing_vllm_exit_2(tmp_path: Path, tiny_model_dir: Path) -> None:
    config = tmp_path / "chat.yaml"
    config.write_text(f"model_name_or_path: {tiny_model_dir}\ntemplate: qwen\ninfer_backend: vllm\n")
    bad = run("chat", str(config), "temperature=hot")
    assert bad.returncode == 2 and "temperature='hot'" in bad.stderr
    try:
        import vllm  # noqa: F401
    except ImportError:
        missing = run("chat", str(config))
        assert missing.returncode == 2 and "pip install 'lmf-workbench[vllm]'" in missing.stderr


ANSWER_END = re.compile(rb"\[\d+ tokens[^\]]*, \w+\]")


@pytest.mark.slow
def test_a_session_with_ctrl_c_in_the_middle_of_an_answer(tmp_path: Path, tiny_model_dir: Path) -> None:
    config = tmp_path / "chat.yaml"
    config.write_text(f"model_name_or_path: {tiny_model_dir}\ntemplate: qwen\nmax_new_tokens: 1900\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "lmf_engine", "chat", str(config), "temperature=1.0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    output = bytearray()

    def pump() -> None:
        while chunk := process.stdout.read1(4096):
            output.extend(chunk)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()

    def wait_for(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, output.decode(errors="replace")
            time.sleep(0.02)

    try:
        wait_for(lambda: b">>> " in output)
        for _ in range(5):  # a sampled answer of the random model may end before the signal lands: ask again
            process.stdin.write(b"Tell me a long story\n")
            process.stdin.flush()
            start = len(output)
            wait_for(lambda start=start: len(output) > start + 40)
            process.send_signal(signal.SIGINT)
            # the answer ends (cancelled, or it ended as the signal came: its figures line), or the prompt got it
            wait_for(lambda start=start: ANSWER_END.search(output[start:]) or b"Ctrl-D to leave)" in output[start:])
            if b"cancelled]" in output[start:]:
                break
        wait_for(lambda: b"cancelled]" in output)
        process.stdin.write(b"/set\n/exit\n")
        process.stdin.flush()
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    reader.join(timeout=5)
    text = output.decode(errors="replace")
    assert "Traceback" not in text
    assert "max_new_tokens = 1900" in text
    tokens = int(text.split(" tokens", 1)[0].rsplit("[", 1)[1])
    assert 0 < tokens < 1900


def test_a_run_folder_chats_with_its_result(tmp_path: Path, tiny_model_dir: Path) -> None:
    from lmf_engine.runs.record import RunRecord, write_run

    run_dir = tmp_path / "runs" / "full"
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(
        f"model_name_or_path: {tiny_model_dir}\nfinetuning_type: freeze\ntemplate: qwen\n", encoding="utf-8"
    )
    for item in tiny_model_dir.iterdir():
        (run_dir / item.name).symlink_to(item)
    write_run(run_dir, RunRecord(name="full", state="finished", cwd=str(tmp_path)))
    result = run("chat", "runs/full", "max_new_tokens=3", stdin="Hi\n/exit\n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Chatting with full" in result.stdout and "[3 tokens" in result.stdout
    empty = tmp_path / "not_a_run"
    empty.mkdir()
    refused = run("chat", str(empty), cwd=tmp_path)
    assert refused.returncode == 2 and "not_a_run has no config.yaml" in refused.stderr
