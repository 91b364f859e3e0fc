"""Template definitions: the TOML format, inheritance, validation, user files, and the headless import rule."""

import subprocess
import sys
from pathlib import Path

import pytest

from lmf_engine.data.example import Message
from lmf_engine.data.templates import (
    BOS,
    EOS,
    TemplateError,
    TokenRef,
    builtin_templates,
    get_template,
    load_template_file,
    template_names,
)
from lmf_engine.data.templates.catalog import DEFS_DIR


def test_every_builtin_definition_loads() -> None:
    templates = builtin_templates()
    assert len(templates) >= 120
    assert set(template_names()) >= set(templates)
    for path in DEFS_DIR.glob("*.toml"):
        assert len(path.read_text().splitlines()) < 300, path


def test_llamafactory_defaults_fill_unset_slots() -> None:
    vicuna = get_template("vicuna")
    assert vicuna.format_assistant == ("{{content}}", EOS)
    assert vicuna.format_function == vicuna.format_assistant
    assert vicuna.format_observation == vicuna.format_user
    assert vicuna.format_system == ("{{content}}",)
    falcon = get_template("falcon")  # efficient_eos: no eos after the answer
    assert falcon.format_function == ("{{content}}\n",)
    assert get_template("empty").format_assistant == ("{{content}}",)
    assert get_template("llama3").format_prefix == (BOS,)
    assert get_template("chatglm3").format_prefix == (TokenRef("[gMASK]"), TokenRef("sop"))


def test_extends_overrides_keys() -> None:
    qwen, qwen3 = get_template("qwen"), get_template("qwen3")
    assert qwen3.format_user == qwen.format_user
    assert qwen.default_system and not qwen3.default_system
    assert qwen3.is_reasoning and not qwen.is_reasoning


def test_render_marks_roles() -> None:
    template = get_template("chatml")
    turns = [Message("user", "hi"), Message("assistant", "hello")]
    assert template.render(turns, system="sys") == [
        ["<|im_start|>system\nsys<|im_end|>\n", "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"],
        ["hello<|im_end|>\n"],
    ]
    with pytest.raises(NotImplementedError):
        template.render([Message("system", "x")])  # type: ignore[arg-type]


def test_run_options() -> None:
    qwen3 = get_template("qwen3").with_options(enable_thinking=False, default_system="S", tool_format="llama3")
    assert (qwen3.enable_thinking, qwen3.default_system, qwen3.tool_format) == (False, "S", "llama3")
    assert qwen3.format_function == ("{{content}}", EOS)
    plain = get_template("qwen").with_options(enable_thinking=False)
    assert plain.enable_thinking is True  # only reasoning templates take it
    assert get_template("glm4_7").empty_thought() == "</think>"
    assert get_template("qwen3").remove_thought("<think>\nx\n</think>\n\nanswer") == "answer"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return path


def test_user_file_can_extend_builtin(tmp_path: Path) -> None:
    path = _write(tmp_path, '[my_qwen]\nextends = "qwen"\ndefault_system = "Mine."\n')
    assert load_template_file(path) == ["my_qwen"]
    mine = get_template("my_qwen")
    assert mine.default_system == "Mine." and mine.format_user == get_template("qwen").format_user


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[t]\nformat_user = ["no placeholder"]\n', "placeholder"),
        ('[t]\nformat_prefix = ["{{content}}"]\n', "prefix"),
        ('[t]\nformat_user = [{tokn = "x"}]\n', "slot"),
        ('[t]\nformat_user = [{special = "pad_token"}]\n', "slot"),
        ("[t]\nformat_userr = []\n", "unknown key"),
        ('[t]\nextends = "nope"\n', "not defined"),
        ('[t]\nextends = "t"\n', "circular"),
        ('[t]\nformat_tools = "nope"\n', "not found"),
        ('[t]\nreasoning = "maybe"\n', "reasoning"),
        ('[t]\nthought_words = ["a"]\n', "two strings"),
        ("[t]\nefficient_eos = 1\n", "true or false"),
        ("[t\n", "mine.toml"),
    ],
)
def test_invalid_definitions_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        load_template_file(_write(tmp_path, text))


def test_unknown_template_name() -> None:
    with pytest.raises(ValueError, match="does not exist"):
        get_template("baichuan2")


def test_import_is_headless() -> None:
    code = (
        "import sys, lmf_engine.data.templates, lmf_engine.data.processors\n"
        "print(sorted(m for m in ('torch', 'transformers', 'datasets') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
