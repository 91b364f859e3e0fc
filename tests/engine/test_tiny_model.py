"""The tiny local model: loads with the Auto classes, generates, renders ChatML, and is rebuilt byte for byte."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from lmf_engine.model.tiny import DEFAULT_SYSTEM, EXTRA_TOKENS, SPECIAL_TOKENS, build_tiny_model

MESSAGES = [{"role": "user", "content": "What is 2 plus 3?"}, {"role": "assistant", "content": "5."}]


def test_loads_and_generates(tiny_model_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    config = model.config
    assert (config.model_type, config.num_hidden_layers, config.hidden_size) == ("qwen2", 2, 64)
    assert (config.num_attention_heads, config.num_key_value_heads, config.intermediate_size) == (4, 2, 128)
    assert config.tie_word_embeddings and model.dtype == torch.float32
    assert config.vocab_size >= len(tokenizer) == 512
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.bos_token is None
    assert config.eos_token_id == tokenizer.eos_token_id and config.pad_token_id == tokenizer.pad_token_id
    generation = json.loads((tiny_model_dir / "generation_config.json").read_text())
    assert generation["eos_token_id"] == [tokenizer.eos_token_id, tokenizer.pad_token_id]

    inputs = tokenizer.apply_chat_template(
        MESSAGES[:1], add_generation_prompt=True, return_dict=True, return_tensors="pt"
    )
    output = model.generate(**inputs, max_new_tokens=4, min_new_tokens=4, do_sample=False)
    assert output.shape == (1, inputs["input_ids"].shape[1] + 4)


def test_tokenizer_round_trips_and_keeps_chat_tokens_whole(tiny_model_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    text = "Hello, world!  The capital of 中国 is 北京。\n\n  def f(x):\n\treturn x"
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text
    for token in (*SPECIAL_TOKENS, *EXTRA_TOKENS):
        ids = tokenizer(f"a{token}b")["input_ids"]
        assert tokenizer.convert_tokens_to_ids(token) in ids, token
    ids = tokenizer("<think>x</think>y<|im_end|>")["input_ids"]
    assert tokenizer.decode(ids, skip_special_tokens=True) == "<think>x</think>y"


def test_chat_template_is_chatml_with_default_system(tiny_model_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    text = tokenizer.apply_chat_template(MESSAGES, tokenize=False)
    assert text == (
        f"<|im_start|>system\n{DEFAULT_SYSTEM}<|im_end|>\n<|im_start|>user\nWhat is 2 plus 3?<|im_end|>\n"
        "<|im_start|>assistant\n5.<|im_end|>\n"
    )
    with_system = [{"role": "system", "content": "Be brief."}, *MESSAGES[:1]]
    prompt = tokenizer.apply_chat_template(with_system, tokenize=False, add_generation_prompt=True)
    assert prompt == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2 plus 3?<|im_end|>\n" + (
        "<|im_start|>assistant\n"
    )
    tool = {"type": "function", "function": {"name": "add", "parameters": {"type": "object", "properties": {}}}}
    call = {"type": "function", "function": {"name": "add", "arguments": {"a": 2, "b": 3}}}
    chat = [
        MESSAGES[0],
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "content": "5"},
    ]
    text = tokenizer.apply_chat_template(chat, tools=[tool], tokenize=False, add_generation_prompt=True)
    assert '<tools>\n{"type": "function", "function": {"name": "add"' in text
    assert '<|im_start|>assistant\n<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 3}}\n</tool_call>' in text
    assert text.endswith("<|im_start|>user\n<tool_response>\n5\n</tool_response><|im_end|>\n<|im_start|>assistant\n")


def test_same_seed_same_files_other_seed_other_weights(tiny_model_dir: Path, tmp_path: Path) -> None:
    again = build_tiny_model(tmp_path / "again")
    for name in ("tokenizer.json", "tokenizer_config.json", "config.json", "model.safetensors"):
        assert (again / name).read_bytes() == (tiny_model_dir / name).read_bytes(), name
    other = build_tiny_model(tmp_path / "other", seed=1)
    assert (other / "tokenizer.json").read_bytes() == (tiny_model_dir / "tokenizer.json").read_bytes()
    assert (other / "model.safetensors").read_bytes() != (tiny_model_dir / "model.safetensors").read_bytes()


def test_llama_with_own_corpus_and_vocab_size(tmp_path: Path) -> None:
    corpus = ["one two three four five six seven eight nine ten"] * 5
    out = build_tiny_model(tmp_path / "llama", arch="llama", vocab_size=320, corpus=corpus)
    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.config.model_type == "llama" and model.config.vocab_size == 320
    assert len(tokenizer) <= 320
    assert tokenizer.apply_chat_template(MESSAGES, tokenize=False).startswith("<|im_start|>system\n")
    output = model.generate(**tokenizer("one two", return_tensors="pt"), max_new_tokens=2, do_sample=False)
    assert output.shape[1] <= 2 + len(tokenizer("one two")["input_ids"])


def test_untied_model_has_its_own_output_head(tmp_path: Path) -> None:
    """``lmf-engine demo model --untied``: what BAdam's ratio mode needs (a separate lm_head weight)."""
    from typer.testing import CliRunner

    from lmf_engine.cli.main import app

    result = CliRunner().invoke(app, ["demo", "model", str(tmp_path / "untied"), "--untied"])
    assert result.exit_code == 0, result.output
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "untied")
    assert model.config.tie_word_embeddings is False
    names = [name for name, _ in model.named_parameters()]
    assert "lm_head.weight" in names and "model.embed_tokens.weight" in names


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="vocab_size=100"):
        build_tiny_model(tmp_path / "small", vocab_size=100)
    with pytest.raises(ValueError, match="arch='gpt2'"):
        build_tiny_model(tmp_path / "gpt2", arch="gpt2")  # type: ignore[arg-type]


def test_modules_import_without_torch() -> None:
    code = (
        "import sys, lmf_engine.model.tiny, lmf_engine.demo.workspace\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers', 'tokenizers', 'datasets'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
