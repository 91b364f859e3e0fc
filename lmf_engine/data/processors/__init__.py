"""Encoders: canonical examples to the token ids and labels each training stage needs.

Each encoder works on a batch and gives the columns LLaMA-Factory 0.9.5's processors give (without its media
columns), token for token. Text is tokenized once per distinct string per batch, in one batched call.

    template = get_template_and_fix_tokenizer(tokenizer, "llama3")
    columns = encode("sft", template, tokenizer, examples, EncodeOptions(cutoff_len=1024))
    dataset = dataset.map(make_preprocess_fn("sft", template, tokenizer, options), batched=True, batch_size=1000)
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..example import Example
from ..templates import ElementEncoder, Template
from .common import (
    IGNORE_INDEX,
    Columns,
    EncodeOptions,
    Kind,
    Stage,
    examples_from_columns,
    greedy_knapsack,
    infer_seqlen,
    processor_kind,
)
from .plain import encode_pretrain, encode_unsupervised
from .preference import encode_feedback, encode_pairwise, kto_pair
from .supervised import build_supervised, encode_packed_supervised, encode_supervised

_ENCODERS = {
    "supervised": encode_supervised,
    "packed_supervised": encode_packed_supervised,
    "pairwise": encode_pairwise,
    "feedback": encode_feedback,
    "unsupervised": encode_unsupervised,
}


def encode(
    stage: Stage,
    template: Template,
    tokenizer: Any,
    examples: Sequence[Example] | Mapping[str, Sequence[Any]],
    options: EncodeOptions | None = None,
    do_generate: bool = False,
    encoder: ElementEncoder | None = None,
) -> Columns:
    """Encode one batch for ``stage`` (pt, sft, rm, ppo, kto; ``do_generate`` for sft prediction)."""
    options = options or EncodeOptions()
    options.check_stage(stage)
    kind = processor_kind(stage, options, do_generate)
    if kind == "pretrain":
        return encode_pretrain(template, tokenizer, examples, options)
    return _ENCODERS[kind](template, tokenizer, examples, options, encoder)


def make_preprocess_fn(
    stage: Stage,
    template: Template,
    tokenizer: Any,
    options: EncodeOptions | None = None,
    do_generate: bool = False,
) -> Callable[[Mapping[str, Sequence[Any]]], Columns]:
    """A function for ``datasets.Dataset.map(batched=True)`` over rows written by :meth:`Example.to_row`.

    The text cache is kept across batches, so repeated system prompts and tool lists are tokenized once.
    """
    options = options or EncodeOptions()
    options.check_stage(stage)
    encoder = ElementEncoder(tokenizer)

    def preprocess(batch: Mapping[str, Sequence[Any]]) -> Columns:
        return encode(stage, template, tokenizer, examples_from_columns(batch), options, do_generate, encoder)

    return preprocess


__all__ = [
    "IGNORE_INDEX",
    "Columns",
    "EncodeOptions",
    "Kind",
    "Stage",
    "build_supervised",
    "encode",
    "encode_feedback",
    "encode_packed_supervised",
    "encode_pairwise",
    "encode_pretrain",
    "encode_supervised",
    "encode_unsupervised",
    "examples_from_columns",
    "greedy_knapsack",
    "infer_seqlen",
    "kto_pair",
    "make_preprocess_fn",
    "processor_kind",
]
