"""The transformers pieces: streamed decoding, stop strings that never match the prompt, generation kwargs."""

from pathlib import Path
from typing import Any

import pytest
import torch
from transformers import AutoTokenizer

from lmf_engine.chat.hf_stream import CallbackStreamer, StopStringsCriteria, generation_kwargs
from lmf_engine.chat.settings import base_settings, merge_settings
from lmf_engine.config import load_config

TEXT = "Hello wörld 你好 <|im_end|> ok\n\nthere, done."


class SlowTokenizer:
    """The tokenizer seen through ``decode`` only (as a tokenizer without a Rust backend is)."""

    def __init__(self, tokenizer: Any) -> None:
        self.decode = tokenizer.decode


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("skip_special", [True, False])
def test_streamed_text_joins_to_the_decoded_text(tiny_model_dir: Path, fast: bool, skip_special: bool) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    ids = tokenizer.encode(TEXT)
    pieces: list[str] = []
    source = tokenizer if fast else SlowTokenizer(tokenizer)
    streamer = CallbackStreamer(source, skip_special, pieces.append, min_interval=0.0)
    streamer.put(torch.tensor([[1, 2, 3]]))  # the prompt is skipped
    for token in ids:
        streamer.put(torch.tensor([token]))
    streamer.end()
    assert "".join(pieces) == tokenizer.decode(ids, skip_special_tokens=skip_special)
    assert not any(piece.endswith("\ufffd") for piece in pieces)
    assert len(pieces) > 5


@pytest.mark.parametrize("fast", [True, False])
def test_the_first_text_goes_out_at_once_and_later_tokens_in_batches(tiny_model_dir: Path, fast: bool) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    ids = tokenizer.encode("好 wörld, and more words after that.")  # 好 takes three tokens
    pieces: list[str] = []
    source = tokenizer if fast else SlowTokenizer(tokenizer)
    streamer = CallbackStreamer(source, True, pieces.append, min_interval=60.0)
    streamer.put(torch.tensor([[1, 2, 3]]))
    first_text_at = next(i for i in range(1, len(ids) + 1) if not tokenizer.decode(ids[:i]).endswith("\ufffd"))
    assert first_text_at > 1
    for token in ids[:first_text_at]:
        streamer.put(torch.tensor([token]))
    assert pieces == [tokenizer.decode(ids[:first_text_at])]  # a split first character waits for its last byte
    for token in ids[first_text_at:]:
        streamer.put(torch.tensor([token]))
    assert len(pieces) == 1
    streamer.end()
    assert len(pieces) == 2 and "".join(pieces) == tokenizer.decode(ids)


def test_stop_strings_never_match_inside_the_prompt(tiny_model_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    prompt = tokenizer.encode("say END\n")
    criteria = StopStringsCriteria(tokenizer, ["END"], len(prompt))
    assert not criteria(torch.tensor([prompt]), None)[0]
    answer = tokenizer.encode("fine, END")
    assert criteria(torch.tensor([prompt + answer]), None)[0]


def test_generation_kwargs_greedy_and_lengths() -> None:
    settings = base_settings(load_config())
    sampled = generation_kwargs(merge_settings(settings, {"temperature": 0.5, "seed": 1}), [5, 6], 0)
    assert (sampled["temperature"], sampled["eos_token_id"], sampled["pad_token_id"]) == (0.5, [5, 6], 0)
    assert "max_length" not in sampled and "seed" not in sampled and "skip_special_tokens" not in sampled
    greedy = generation_kwargs(merge_settings(settings, {"temperature": 0}), [5], 0)
    assert greedy["do_sample"] is False and not {"temperature", "top_p", "top_k"} & set(greedy)
    by_length = generation_kwargs(dict(settings, max_new_tokens=None, max_length=99), [5], 0)
    assert by_length["max_length"] == 99 and "max_new_tokens" not in by_length
