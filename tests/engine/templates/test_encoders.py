"""Encoder pieces: LLaMA-Factory's length rules, options, batch forms, and the batched tokenization paths."""

import logging

import pytest
from lf_golden_support import TOKENIZER_DIR, example_for

from lmf_engine.data.example import Example, Message
from lmf_engine.data.processors import (
    IGNORE_INDEX,
    EncodeOptions,
    encode,
    encode_supervised,
    greedy_knapsack,
    infer_seqlen,
    make_preprocess_fn,
    processor_kind,
)
from lmf_engine.data.templates import ElementEncoder, get_template_and_fix_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(TOKENIZER_DIR)


def test_infer_seqlen() -> None:
    assert infer_seqlen(10, 5, 100) == (10, 5)
    assert infer_seqlen(100, 10, 50) == (40, 10)  # short target: keep it, cut the source
    assert infer_seqlen(10, 100, 50) == (10, 40)  # short source: keep it, cut the target
    assert infer_seqlen(60, 40, 50) == (30, 20)  # both long: in proportion
    assert infer_seqlen(5, 5, 0) == (0, 0)


def test_greedy_knapsack() -> None:
    assert greedy_knapsack([5, 1, 9, 3, 7], 10) == [[9, 1], [7, 3], [5]]
    assert greedy_knapsack([], 10) == []


def test_options_follow_llamafactory() -> None:
    assert EncodeOptions(cutoff_len=100).effective_cutoff == 100
    assert EncodeOptions(cutoff_len=100, packing=True).effective_cutoff == 99
    assert EncodeOptions(cutoff_len=100, neat_packing=True).packs("sft")
    assert EncodeOptions().packs("pt") and not EncodeOptions(packing=False).packs("pt")
    assert processor_kind("sft", EncodeOptions()) == "supervised"
    assert processor_kind("sft", EncodeOptions(), do_generate=True) == "unsupervised"
    assert processor_kind("rm", EncodeOptions()) == "pairwise"
    with pytest.raises(ValueError, match="incompatible"):
        EncodeOptions(mask_history=True, train_on_prompt=True)
    with pytest.raises(ValueError, match="except SFT"):
        EncodeOptions(neat_packing=True).check_stage("rm")


def _examples(samples: list) -> list[Example]:
    return [example_for(s, "sft") for s in samples if s["name"] not in ("parallel_call", "thought_tool")]


@pytest.mark.parametrize("name", ["qwen3", "llama2", "chatglm3", "default"])
def test_rust_backend_path_equals_encode(tokenizer, samples: list, name: str, frozen_date: str) -> None:
    template = get_template_and_fix_tokenizer(tokenizer, name)
    examples = _examples(samples)
    logging.disable(logging.WARNING)
    try:
        fast = encode_supervised(template, tokenizer, examples, encoder=ElementEncoder(tokenizer))
        slow = encode_supervised(template, tokenizer, examples, encoder=ElementEncoder(tokenizer, use_backend=False))
        tiny_cache = encode_supervised(template, tokenizer, examples, encoder=ElementEncoder(tokenizer, max_cache=2))
    finally:
        logging.disable(logging.NOTSET)
    assert fast == slow == tiny_cache


def test_datasets_map_gives_the_same_rows(tokenizer, samples: list, frozen_date: str) -> None:
    import datasets

    template = get_template_and_fix_tokenizer(tokenizer, "llama3")
    examples = [e for e in _examples(samples) if len(e.prompt) % 2 == 1 and len(e.response) == 1]
    options = EncodeOptions(cutoff_len=64)
    dataset = datasets.Dataset.from_list([e.to_row() for e in examples])
    mapped = dataset.map(
        make_preprocess_fn("sft", template, tokenizer, options),
        batched=True,
        batch_size=3,
        remove_columns=dataset.column_names,
    )
    direct = encode("sft", template, tokenizer, examples, options)
    assert mapped["input_ids"] == direct["input_ids"]
    assert mapped["labels"] == direct["labels"]


def test_labels_mask_the_prompt(tokenizer) -> None:
    template = get_template_and_fix_tokenizer(tokenizer, "qwen")
    example = Example(prompt=[Message("user", "hi")], response=[Message("assistant", "hello")])
    out = encode_supervised(template, tokenizer, [example])
    ids, labels = out["input_ids"][0], out["labels"][0]
    answer = [i for i, label in zip(ids, labels, strict=True) if label != IGNORE_INDEX]
    assert tokenizer.decode(answer) == "hello<|im_end|>\n"
    assert labels[0] == IGNORE_INDEX


def test_kto_tag_builds_llamafactory_pairs(tokenizer) -> None:
    template = get_template_and_fix_tokenizer(tokenizer, "chatml")
    good = Example(prompt=[Message("user", "a")], response=[Message("assistant", "yes")], kto_tag=True)
    bad = Example(prompt=[Message("user", "b")], response=[Message("assistant", "no")], kto_tag=False)
    untagged = Example(prompt=[Message("user", "c")], response=[Message("assistant", "?")])
    logging.disable(logging.WARNING)
    try:
        out = encode("kto", template, tokenizer, [good, bad, untagged])
    finally:
        logging.disable(logging.NOTSET)
    assert out["kto_tags"] == [True, False]
    assert len(out["kl_input_ids"]) == 2
