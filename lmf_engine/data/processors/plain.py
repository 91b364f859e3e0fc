"""Unsupervised rows (prediction, ppo) and pre-training text, as LLaMA-Factory encodes them."""

from collections.abc import Mapping, Sequence
from itertools import chain
from typing import Any

from ..example import Example, Message
from ..templates import ElementEncoder, Template
from .common import (
    Columns,
    EncodeOptions,
    as_examples,
    infer_seqlen,
    media_columns,
    media_prefix,
    warn_dropped,
    with_media,
)


def encode_unsupervised(
    template: Template,
    tokenizer: Any,
    examples: Sequence[Example] | Mapping[str, Sequence[Any]],
    options: EncodeOptions | None = None,
    encoder: ElementEncoder | None = None,
) -> Columns:
    """Prompt ids as ``input_ids`` and the response ids as ``labels`` (an empty answer when there is none)."""
    options = options or EncodeOptions()
    encoder = encoder or ElementEncoder(tokenizer)
    renders = []
    kept = []
    for ex in as_examples(examples):
        if len(ex.prompt) % 2 != 1:
            warn_dropped(ex)
            continue
        answer = list(ex.response) if len(ex.response) == 1 else [Message("assistant", "")]
        renders.append(template.render_oneturn(with_media(options, [*ex.prompt, *answer], ex), ex.system, ex.tools))
        kept.append(ex)
    encoder.prepare(elements for pair in renders for elements in pair)
    eos = [encoder.eos_id] if template.efficient_eos else []
    out: Columns = {"input_ids": [], "attention_mask": [], "labels": []}
    for (prompt, response), ex in zip(renders, kept, strict=True):
        input_ids, labels = media_prefix(options, ex, tokenizer) + encoder.ids(prompt), encoder.ids(response) + eos
        source_len, target_len = infer_seqlen(len(input_ids), len(labels), options.effective_cutoff)
        out["input_ids"].append(input_ids[:source_len])
        out["attention_mask"].append([1] * source_len)
        out["labels"].append(labels[:target_len])
    return {**out, **media_columns(options, kept)}


def encode_pretrain(
    template: Template | str | None,
    tokenizer: Any,
    examples: Sequence[Example] | Mapping[str, Sequence[Any]],
    options: EncodeOptions | None = None,
) -> Columns:
    """Text of each example's first message + eos, tokenized; packed into ``cutoff_len`` blocks by default.

    Without packing each text is truncated to ``cutoff_len`` (bos first when the tokenizer adds one); with packing the
    texts are joined and cut into full blocks (the remainder is dropped) whose first id becomes bos. Only the
    template's name matters: ``llama3`` ends texts with ``<|end_of_text|>`` instead of eos.
    """
    options = options or EncodeOptions()
    name = template.name if isinstance(template, Template) else template
    eos_token = "<|end_of_text|>" if name == "llama3" else tokenizer.eos_token
    texts = [ex.prompt[0].content + eos_token for ex in as_examples(examples)]
    cutoff = options.effective_cutoff
    add_bos = getattr(tokenizer, "add_bos_token", False)
    if not options.packs("pt"):
        if add_bos:
            texts = [tokenizer.bos_token + text for text in texts]
        encoded = tokenizer(texts, add_special_tokens=False, truncation=True, max_length=cutoff)
        return {key: list(value) for key, value in encoded.items()}
    encoded = tokenizer(texts, add_special_tokens=False)
    joined = {key: list(chain(*value)) for key, value in encoded.items()}
    total = len(next(iter(joined.values()))) // cutoff * cutoff
    out = {key: [ids[i : i + cutoff] for i in range(0, total, cutoff)] for key, ids in joined.items()}
    if add_bos:
        for block in out["input_ids"]:
            block[0] = tokenizer.bos_token_id
    return out
