"""detect_traps: each trap built on purpose on the tiny tokenizer, and a clean sample that has none."""

from typing import Any

import pytest

from lmf_engine.data.inspect import render_sample
from lmf_engine.data.processors import EncodeOptions
from lmf_engine.data.samples import SAMPLE_MESSAGES
from lmf_engine.data.templates import build_template, get_template_and_fix_tokenizer, prepare_tokenizer
from lmf_engine.data.traps import Trap, detect_traps

MESSAGES = list(SAMPLE_MESSAGES)
EOS = {"special": "eos_token"}


def codes(traps: list[Trap]) -> list[str]:
    return [t.code for t in traps]


def custom(tokenizer: Any, name: str, **raw: Any) -> Any:
    """A template from a TOML-like table, with the tokenizer fixed for it."""
    template = build_template(name, raw)
    prepare_tokenizer(template, tokenizer)
    return template


def test_a_clean_sample_has_no_trap(tokenizer: Any) -> None:
    chat_template = tokenizer.chat_template
    template = get_template_and_fix_tokenizer(tokenizer, "qwen")
    assert detect_traps(template, tokenizer, MESSAGES, chat_template=chat_template) == []
    rendered = render_sample(
        template, tokenizer, {"messages": MESSAGES[:2], "chosen": "a", "rejected": "b"}, stage="rm"
    )
    assert detect_traps(template, tokenizer, rendered, chat_template=chat_template) == []


def test_double_bos_in_the_trained_ids(bos_tokenizer: Any) -> None:
    template = custom(
        bos_tokenizer,
        "bos_twice",
        format_prefix=[{"special": "bos_token"}],
        format_user=["<|endoftext|>User: {{content}}\nAssistant: "],
        format_assistant=["{{content}}", EOS],
    )
    rendered = render_sample(template, bos_tokenizer, MESSAGES[1:3])
    assert rendered.input_ids[:2] == [bos_tokenizer.bos_token_id] * 2
    traps = [t for t in detect_traps(template, bos_tokenizer, rendered) if t.code == "double_bos"]
    assert len(traps) == 1
    assert traps[0].severity == "error" and traps[0].positions == (0, 1)
    assert "'<|endoftext|>' twice" in traps[0].message


def test_template_bos_and_tokenizer_bos(bos_tokenizer: Any, tokenizer: Any) -> None:
    traps = detect_traps("llama3", bos_tokenizer, MESSAGES)
    found = [t for t in traps if t.code.startswith("double_bos")]
    assert codes(found) == ["double_bos_retokenized"]
    assert found[0].severity == "warning" and "add_bos_token" in found[0].message
    bos_tokenizer.add_bos_token = False  # same BOS token, not added by the tokenizer: no trap
    assert not [t for t in detect_traps("llama3", bos_tokenizer, MESSAGES) if t.code.startswith("double_bos")]
    assert not [t for t in detect_traps("llama3", tokenizer, MESSAGES) if t.code.startswith("double_bos")]


def test_eos_missing_from_the_labels(tokenizer: Any) -> None:
    traps = detect_traps("empty", tokenizer, MESSAGES)
    eos = [t for t in traps if t.code == "eos_not_trained"]
    assert len(eos) == 1 and eos[0].severity == "error"
    assert "turns 1, 2" in eos[0].message and "'<|im_end|>'" in eos[0].message
    rendered = render_sample("empty", tokenizer, MESSAGES)
    assert [rendered.tokens[i].text for i in eos[0].positions] == [".", "."]  # the last trained token of each turn
    no_eos = custom(tokenizer, "no_eos", format_user=["Q: {{content}}\nA:"], format_assistant=["{{content}}\n"])
    assert "eos_not_trained" in codes(detect_traps(no_eos, tokenizer, MESSAGES))


def test_eos_cut_off_by_cutoff_len(tokenizer: Any) -> None:
    traps = detect_traps("qwen", tokenizer, MESSAGES, EncodeOptions(cutoff_len=20))
    assert "eos_truncated" in codes(traps) and "eos_not_trained" not in codes(traps)
    assert "cutoff_len=20" in next(t for t in traps if t.code == "eos_truncated").message


def test_pad_is_eos(tokenizer: Any) -> None:
    template = get_template_and_fix_tokenizer(tokenizer, "qwen")
    assert "pad_is_eos" not in codes(detect_traps(template, tokenizer, MESSAGES))
    tokenizer.pad_token = tokenizer.eos_token
    sft = [t for t in detect_traps(template, tokenizer, MESSAGES) if t.code == "pad_is_eos"]
    assert len(sft) == 1 and sft[0].severity == "info" and "'<|im_end|>'" in sft[0].message
    text = [{"role": "user", "content": "Paris is in France."}]
    pretrain = detect_traps(template, tokenizer, text, stage="pt")
    assert {"pad_is_eos", "eos_not_trained"} <= set(codes(pretrain))
    assert next(t for t in pretrain if t.code == "pad_is_eos").severity == "warning"
    assert "masked too" in next(t for t in pretrain if t.code == "eos_not_trained").message


def test_prompt_and_response_tokens_merge_at_the_boundary(tokenizer: Any) -> None:
    template = custom(
        tokenizer, "trailing_space", format_user=["Q: {{content}}\nAnswer: "], format_assistant=["{{content}}", EOS]
    )
    traps = [t for t in detect_traps(template, tokenizer, MESSAGES) if t.code == "boundary_merge"]
    assert len(traps) == 1 and traps[0].severity == "warning"
    assert "ends with ' '" in traps[0].message and "starts with 'The'" in traps[0].message
    assert "merge into ' The'" in traps[0].message and "also in turn 2" in traps[0].message
    tokens = render_sample(template, tokenizer, MESSAGES).tokens
    assert [tokens[i].text for i in traps[0].positions] == [" ", "The", " ", "The"]
    assert [tokens[i].trained for i in traps[0].positions] == [False, True, False, True]
    no_space = custom(
        tokenizer, "no_space", format_user=["Q: {{content}}\nAnswer:"], format_assistant=["{{content}}", EOS]
    )
    assert "boundary_merge" not in codes(detect_traps(no_space, tokenizer, MESSAGES))


def test_template_differs_from_the_tokenizer_jinja_template(tokenizer: Any) -> None:
    chat_template = tokenizer.chat_template
    no_system = MESSAGES[1:]
    qwen = get_template_and_fix_tokenizer(tokenizer, "qwen")
    assert detect_traps(qwen, tokenizer, no_system, chat_template=chat_template) == []
    template = get_template_and_fix_tokenizer(tokenizer, "qwen", default_system="You are a pirate.")
    traps = [t for t in detect_traps(template, tokenizer, no_system, chat_template=chat_template)]
    assert codes(traps) == ["template_mismatch"]
    assert "You are a pirate." in traps[0].message
    assert "You are Qwen, created by Alibaba Cloud" in traps[0].message and "line 2" in traps[0].message
    assert "template_mismatch" in codes(detect_traps("llama3", tokenizer, MESSAGES))


def test_chat_template_notes_when_no_comparison_is_made(tokenizer: Any) -> None:
    tokenizer.chat_template = None
    assert codes(detect_traps("llama2", tokenizer, MESSAGES, chat_template=None)) == ["chat_template_from_template"]
    template = get_template_and_fix_tokenizer(tokenizer, "empty")
    tokenizer.chat_template = None  # drop the jinja template the fix wrote: a tokenizer that has none
    notes = [t for t in detect_traps(template, tokenizer, MESSAGES) if t.severity == "info"]
    assert codes(notes) == ["no_chat_template"] and "skipped" in notes[0].message


def test_chat_template_comparison_is_skipped_for_tools(tokenizer: Any) -> None:
    sample = {"messages": MESSAGES[1:3], "tools": [{"name": "get_weather", "parameters": {}}]}
    traps = detect_traps("qwen", tokenizer, sample)
    assert "chat_template_skipped" in codes(traps) and "template_mismatch" not in codes(traps)


@pytest.mark.parametrize("thinking", [True, False])
def test_empty_think_blocks_trained_on(tokenizer: Any, thinking: bool) -> None:
    template = get_template_and_fix_tokenizer(tokenizer, "qwen3", enable_thinking=thinking)
    rendered = render_sample(template, tokenizer, MESSAGES)
    traps = [t for t in detect_traps(template, tokenizer, rendered) if t.code == "empty_think_trained"]
    if not thinking:
        assert traps == []
        return
    assert len(traps) == 1 and "2 empty thought blocks" in traps[0].message
    assert "enable_thinking: false" in traps[0].message
    texts = [rendered.tokens[i].text for i in traps[0].positions]
    assert texts == ["<think>", "\n", "\n", "</think>"] * 2


def test_real_thoughts_are_not_a_trap(tokenizer: Any) -> None:
    messages = [MESSAGES[1], {"role": "assistant", "content": "<think>\nIt is Paris.\n</think>\n\nParis."}]
    assert "empty_think_trained" not in codes(detect_traps("qwen3", tokenizer, messages))


def test_empty_think_in_the_data_of_a_plain_template(tokenizer: Any) -> None:
    messages = [MESSAGES[1], {"role": "assistant", "content": "<think></think>Paris."}]
    traps = [t for t in detect_traps("qwen", tokenizer, messages) if t.code == "empty_think_trained"]
    assert len(traps) == 1 and "'<think></think>'" in traps[0].message and "remove" in traps[0].message


def test_nothing_trained(tokenizer: Any) -> None:
    long_prompt = [{"role": "user", "content": "word " * 300}, {"role": "assistant", "content": "ok"}]
    template = get_template_and_fix_tokenizer(tokenizer, "qwen")
    rendered = render_sample(template, tokenizer, long_prompt, EncodeOptions(cutoff_len=4))
    assert len(rendered.tokens) == 4 and not any(t.trained for t in rendered.tokens)
    traps = [t for t in detect_traps(template, tokenizer, rendered) if t.code == "nothing_trained"]
    assert len(traps) == 1 and traps[0].severity == "error" and "cutoff_len=4" in traps[0].message
    roomy = render_sample(template, tokenizer, long_prompt, EncodeOptions(cutoff_len=64))
    assert "nothing_trained" not in codes(detect_traps(template, tokenizer, roomy))
    prompt_only = render_sample(template, tokenizer, long_prompt, EncodeOptions(cutoff_len=4), stage="ppo")
    assert [t for t in detect_traps(template, tokenizer, prompt_only) if t.severity == "error"] == []


def test_traps_are_sorted_and_serialisable(tokenizer: Any) -> None:
    tokenizer.pad_token = tokenizer.eos_token
    traps = detect_traps("empty", tokenizer, MESSAGES)
    order = {"error": 0, "warning": 1, "info": 2}
    assert [order[t.severity] for t in traps] == sorted(order[t.severity] for t in traps)
    assert set(traps[0].to_dict()) == {"code", "severity", "message", "sequence", "positions"}
