"""``lmf-engine template list|render|export``: output, JSON shape, colours, exit codes and one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lmf_engine.cli.main import app
from lmf_engine.data.samples import SAMPLE_MESSAGES
from lmf_engine.data.templates import template_names

HEAVY = ("torch", "transformers", "datasets", "peft", "trl")
CHATML_ANSWER = "<|im_start|>assistant\nThe capital of France is Paris.<|im_end|>\n"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def in_workspace(demo_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo workspace as the current directory (read only: the commands only read it)."""
    monkeypatch.chdir(demo_workspace)
    return demo_workspace


def test_list_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from lmf_engine.cli.main import main\n"
        "sys.argv = ['lmf-engine', 'template', 'list']\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        f"print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "HEAVY []"
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:-2]}
    assert rows["qwen3"][1:3] == ["think", "qwen"] and rows["llama3"][1:3] == ["-", "llama3"]
    assert f"{len(template_names())} templates" in result.stdout


def test_list_json() -> None:
    code, out, _ = invoke("template", "list", "--json")
    assert code == 0
    infos = {info["name"]: info for info in json.loads(out)}
    assert sorted(infos) == template_names()
    assert infos["qwen3"]["reasoning"] == "think" and infos["qwen3"]["enable_thinking"] is True
    assert infos["qwen"]["tool_format"] == "qwen" and infos["qwen"]["stop_words"] == ["<|im_end|>"]
    assert infos["llama2"]["enable_thinking"] is None


def test_render_prints_the_text_without_colours_when_not_a_terminal(tiny_model_dir: Path) -> None:
    code, out, err = invoke("template", "render", "--template", "qwen", "--model", str(tiny_model_dir))
    assert code == 0, err
    assert "\x1b[" not in out
    lines = out.splitlines()
    assert lines[0] == f"template qwen · stage sft · model {tiny_model_dir}"
    assert lines[1].startswith("── 89 tokens: 27 trained, 62 masked, 10 special")
    assert CHATML_ANSWER in out and out.rstrip().endswith("traps: none found")
    assert "legend" not in out


def test_render_colours_tokens_on_a_terminal(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("TERM", "xterm-256color")  # a CI shell's TERM=dumb means no colours
    for name in ("NO_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    code, out, _ = invoke("template", "render", "--template", "qwen", "--model", str(tiny_model_dir))
    assert code == 0
    assert out.splitlines()[1].startswith("legend: ")
    assert "\x1b[32mParis\x1b[0m" in out  # trained text in green
    assert "\x1b[1;35m<|im_start|>\x1b[0m" in out  # masked special token: bold magenta
    assert "\x1b[1;4;32m<|im_end|>\x1b[0m" in out  # trained special token: green, bold, underlined


def test_render_json(tiny_model_dir: Path) -> None:
    messages = json.dumps(list(SAMPLE_MESSAGES[1:3]))
    code, out, _ = invoke("template", "render", "--template", "qwen3", "--model", str(tiny_model_dir),
                          "--messages", messages, "--json")  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert {"template", "stage", "text", "input_ids", "labels", "tokens", "traps", "model"} <= set(data)
    assert data["template"] == "qwen3" and data["stage"] == "sft" and data["model"] == str(tiny_model_dir)
    assert data["text"] == "".join(t["text"] for t in data["tokens"])
    assert [t["id"] for t in data["tokens"]] == data["input_ids"]
    assert {t["role"] for t in data["tokens"]} == {"trained", "masked", "special"}
    assert all({"id", "text", "role", "trained", "special"} <= set(t) for t in data["tokens"])
    assert [t["code"] for t in data["traps"]] == ["template_mismatch", "empty_think_trained"]


def test_render_messages_from_a_file(tiny_model_dir: Path, tmp_path: Path) -> None:
    sample = {"messages": list(SAMPLE_MESSAGES[1:2]), "chosen": "Paris.", "rejected": "Rome."}
    path = tmp_path / "sample.json"
    path.write_text(json.dumps(sample))
    code, out, _ = invoke("template", "render", "--model", str(tiny_model_dir), "--template", "qwen",
                          "--messages", str(path), "--json")  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert data["stage"] == "rm" and data["rejected"]["text"].endswith("Rome.<|im_end|>\n")


def test_render_a_config_dataset_row_with_overrides(in_workspace: Path) -> None:
    code, out, _ = invoke("template", "render", "configs/sft_lora.yaml", "--row", "3", "--json")
    assert code == 0
    data = json.loads(out)
    rows = json.loads((in_workspace / "data" / "demo_sft.json").read_text())
    assert data["text"].endswith(f"assistant\n{rows[3]['output']}<|im_end|>\n")
    assert data["traps"] == []  # the demo model's jinja template is qwen's
    code, out, _ = invoke("template", "render", "configs/sft_lora.yaml", "default_system=You are a pirate.",
                          "--json")  # fmt: skip
    assert code == 0 and [t["code"] for t in json.loads(out)["traps"]] == ["template_mismatch"]
    code, out, _ = invoke("template", "render", "configs/sft_lora.yaml", "template=qwen3", "--dataset",
                          "demo_multiturn", "--row", "1", "--json")  # fmt: skip
    assert "empty_think_trained" in [t["code"] for t in json.loads(out)["traps"]]


def test_render_pairwise_config(in_workspace: Path) -> None:
    code, out, _ = invoke("template", "render", "configs/dpo_lora.yaml")
    assert code == 0
    assert "stage dpo" in out.splitlines()[0]
    assert "── chosen: " in out and "── rejected: " in out
    code, out, _ = invoke("template", "render", "configs/dpo_lora.yaml", "--json")
    data = json.loads(out)
    assert data["sequence"] == "chosen" and data["rejected"]["name"] == "rejected"


def test_render_ids_lists_every_token(tiny_model_dir: Path) -> None:
    code, out, _ = invoke("template", "render", "--template", "qwen", "--model", str(tiny_model_dir), "--ids")
    assert code == 0
    table = [line.split(maxsplit=3) for line in out.splitlines() if line[:5].strip().isdigit()]
    assert len(table) == 89 and [int(row[0]) for row in table] == list(range(89))
    assert table[0][1:] == ["506", "special", "'<|im_start|>'"]
    kinds = {row[2] for row in table}
    assert kinds == {"trained", "masked", "special", "trained+special"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--template", "qwen4"], "unknown template 'qwen4'; did you mean qwen or qwen3?"),
        (["--model", "/nonexistent/model"], "model_name_or_path: model folder '/nonexistent/model' not found"),
        (["--model", "models/tiny-qwen2", "--messages", '[{"role": "user"'], "--messages: invalid JSON at line 1"),
        (["--model", "models/tiny-qwen2", "--messages", '[{"role": "bot", "content": "x"}]'], "unknown role 'bot'"),
        (["configs/sft_lora.yaml", "--row", "1000"], "--row 1000 is out of range"),
        (["configs/sft_lora.yaml", "--dataset", "demo_sfd"], "did you mean demo_sft"),
        (["configs/sft_lora.yaml", "--dataset", "demo_dpo"], "cannot be used for stage sft"),
        (["configs/sft_lora.yaml", "lora_rnk=3"], "lora_rnk: unknown key; did you mean lora_rank?"),
        (["configs/sft_lora.yaml", "template=foo"], "unknown template 'foo'"),
        (["configs/missing.yaml"], "configs/missing.yaml: config file not found"),
        (["--model", "models/tiny-qwen2", "--stage", "grpo"], "--stage: unknown stage 'grpo'"),
        ([], "no model: pass --model PATH"),
        (["--model", "models/tiny-qwen2", "--messages", "[]", "--dataset", "demo_sft"], "give one of them"),
    ],
)
def test_render_errors_are_one_line_and_exit_2(in_workspace: Path, args: list[str], message: str) -> None:
    code, out, err = invoke("template", "render", *args)
    assert code == 2
    assert out == ""
    assert err.strip().splitlines() == [err.strip()] and message in err
    assert "Traceback" not in err


def test_errors_in_a_subprocess(demo_workspace: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lmf_engine", "template", "render", "configs/sft_lora.yaml", "--row", "-1"],
        capture_output=True, text=True, cwd=demo_workspace, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == "--row must be 0 or more, got -1"


def test_export_prints_a_jinja_template_that_renders_the_same_text(tiny_model_dir: Path, tmp_path: Path) -> None:
    code, out, err = invoke("template", "export", "qwen", "--model", str(tiny_model_dir))
    assert code == 0
    assert out.startswith("{% set system_message = 'You are Qwen")
    assert "checked: the jinja template renders the same text as template qwen" in err
    target = tmp_path / "chat_template.jinja"
    code, out, _ = invoke("template", "export", "llama3", "--model", str(tiny_model_dir), "--out", str(target))
    assert code == 0 and out == ""
    assert "<|start_header_id|>" in target.read_text()


def test_export_reports_a_mismatch(tiny_model_dir: Path) -> None:
    code, out, err = invoke("template", "export", "qwen3", "--model", str(tiny_model_dir))
    assert code == 1
    assert out  # the jinja template is still printed
    assert err.startswith("mismatch: ") and "<think>" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["chatglm3", "--model", "MODEL"], "template chatglm3 names tokens directly ([gMASK], sop"),
        (["qwen"], "--model PATH is required"),
        (["qwem", "--model", "MODEL"], "did you mean qwen"),
    ],
)
def test_export_errors(tiny_model_dir: Path, args: list[str], message: str) -> None:
    code, out, err = invoke("template", "export", *[str(tiny_model_dir) if a == "MODEL" else a for a in args])
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [err.strip()] and message in err
