"""The template view of a sample with an image: the placeholder's media tokens, their runs, and refusals."""

from pathlib import Path

import pytest

from lmf_engine.config import load_config
from lmf_engine.data.inspect import FOLD_SPECIAL_RUN, TokenView, media_runs, render_sample, setup_from_config
from lmf_engine.data.samples import SampleError, dataset_example


def token(index: int, token_id: int, piece: str, special: bool = True) -> TokenView:
    return TokenView(index, token_id, piece, piece, -100, special)


def test_media_runs_are_repeats_of_a_media_token_or_long_repeats_of_a_special_token() -> None:
    pad, start, end, word = (token(0, 9, "<|image_pad|>"), token(0, 7, "<s>"), token(0, 8, "</s>"), "hi")
    tokens = [start, pad, pad, pad, end, *[token(0, 5, word, False)] * 6, *[start] * FOLD_SPECIAL_RUN, pad]
    tokens = [TokenView(i, t.id, t.text, t.piece, t.label, t.special) for i, t in enumerate(tokens)]
    runs = media_runs(tokens, {"<|image_pad|>"})
    assert [(r.start, r.length, r.piece) for r in runs] == [(1, 3, "<|image_pad|>"), (11, FOLD_SPECIAL_RUN, "<s>")]
    assert runs[0].end == 4
    assert media_runs(tokens) == runs[1:]  # without the template's media tokens: only long special runs


def test_an_image_row_becomes_its_media_tokens_counted_in_the_sample(demo_workspace: Path) -> None:
    data = demo_workspace / "data"
    paths = {"dataset_dir": str(data), "model_name_or_path": str(demo_workspace / "models" / "tiny-qwen2-vl")}
    setup = setup_from_config(load_config(demo_workspace / "configs" / "sft_vlm_lora.yaml", values=paths))
    example = dataset_example(data, "demo_mllm", 0)  # media paths start at the dataset folder, as in training
    assert example.images == [str(data / "demo_images" / "red_circle.png")]
    rendered = render_sample(setup.template, setup.tokenizer, example, setup.options)
    (run,) = rendered.runs()
    assert run.piece == "<|image_pad|>" and run.length > 1
    pieces = [t.piece for t in rendered.tokens]
    assert pieces[run.start - 1] == "<|vision_start|>" and pieces[run.end] == "<|vision_end|>"
    assert pieces.count("<|image_pad|>") == run.length
    assert rendered.main.counts()["tokens"] == len(rendered.input_ids)  # the image's tokens are in the totals
    assert "<image>" not in rendered.text
    text_config = load_config(demo_workspace / "configs" / "sft_vlm_lora.yaml", values={**paths, "template": "qwen"})
    text_setup = setup_from_config(text_config)
    with pytest.raises(SampleError, match="the sample has 1 image and template qwen takes text only"):
        render_sample(text_setup.template, text_setup.tokenizer, example, text_setup.options)
