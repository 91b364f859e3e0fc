"""Preference rows: pairwise (rm, dpo, orpo, simpo) and feedback (kto), as LLaMA-Factory encodes them."""

from collections.abc import Mapping, Sequence
from typing import Any

from ..example import Example, Message
from ..templates import ElementEncoder, Template
from .common import (
    IGNORE_INDEX,
    Columns,
    EncodeOptions,
    as_examples,
    infer_seqlen,
    media_columns,
    media_prefix,
    warn_dropped,
    with_media,
)


def _oneturn_ids(
    template: Template, encoder: ElementEncoder, renders: Sequence[tuple[list[Any], list[Any]]]
) -> list[tuple[list[int], list[int]]]:
    encoder.prepare(elements for pair in renders for elements in pair)
    return [(encoder.ids(prompt), encoder.ids(response)) for prompt, response in renders]


def encode_pairwise(
    template: Template,
    tokenizer: Any,
    examples: Sequence[Example] | Mapping[str, Sequence[Any]],
    options: EncodeOptions | None = None,
    encoder: ElementEncoder | None = None,
) -> Columns:
    """``chosen_*`` and ``rejected_*`` ids, masks and labels; ``response`` is ``[chosen, rejected]``.

    Both share the prompt ids of the chosen rendering; prompt and the longer response are truncated together.
    """
    options = options or EncodeOptions()
    encoder = encoder or ElementEncoder(tokenizer)
    renders = []
    kept = []
    for ex in as_examples(examples):
        if len(ex.prompt) % 2 != 1 or len(ex.response) < 2:
            warn_dropped(ex)
            continue
        for response in ex.response[:2]:
            messages = with_media(options, [*ex.prompt, response], ex)
            renders.append(template.render_oneturn(messages, ex.system, ex.tools))
        kept.append(ex)
    ids = _oneturn_ids(template, encoder, renders)
    eos = [encoder.eos_id] if template.efficient_eos else []
    keys = ("input_ids", "attention_mask", "labels")
    out: Columns = {f"{side}_{key}": [] for side in ("chosen", "rejected") for key in keys}
    for (prompt, chosen), (_, rejected), ex in zip(ids[0::2], ids[1::2], kept, strict=True):
        prompt = media_prefix(options, ex, tokenizer) + prompt
        chosen, rejected = chosen + eos, rejected + eos
        source_len, target_len = infer_seqlen(len(prompt), max(len(chosen), len(rejected)), options.effective_cutoff)
        prompt = prompt[:source_len]
        for side, response in (("chosen", chosen[:target_len]), ("rejected", rejected[:target_len])):
            out[f"{side}_input_ids"].append(prompt + response)
            out[f"{side}_attention_mask"].append([1] * (len(prompt) + len(response)))
            out[f"{side}_labels"].append([IGNORE_INDEX] * source_len + response)
    return {**out, **media_columns(options, kept)}


def kto_pair(example: Example) -> list[Message]:
    """The response as LLaMA-Factory's converter writes it for kto: ``[answer, ""]`` if desirable, else reversed."""
    if len(example.response) != 1 or example.kto_tag is None:
        return list(example.response)
    empty = Message("assistant", "")
    return [example.response[0], empty] if example.kto_tag else [empty, example.response[0]]


def encode_feedback(
    template: Template,
    tokenizer: Any,
    examples: Sequence[Example] | Mapping[str, Sequence[Any]],
    options: EncodeOptions | None = None,
    encoder: ElementEncoder | None = None,
) -> Columns:
    """KTO rows: ids and labels, ``kl_*`` ids built from the previous example's response, and ``kto_tags``.

    The KL responses are shifted by one within the batch (the first example gets the last one's), as in
    LLaMA-Factory, so results depend on the batch (LLaMA-Factory's ``preprocessing_batch_size``, 1000).
    """
    options = options or EncodeOptions()
    encoder = encoder or ElementEncoder(tokenizer)
    batch = as_examples(examples)
    responses = [kto_pair(ex) for ex in batch]
    kl_responses = [responses[-1], *responses[:-1]] if responses else []
    renders = []
    tags = []
    kept = []
    for ex, response, kl_response in zip(batch, responses, kl_responses, strict=True):
        if len(ex.prompt) % 2 != 1 or len(response) < 2:
            warn_dropped(ex)
            continue
        tags.append(bool(response[0].content))
        answer = response[0] if response[0].content else response[1]
        kl_answer = kl_response[0] if kl_response[0].content else kl_response[1]
        for last in (answer, kl_answer):
            messages = with_media(options, [*ex.prompt, last], ex)
            renders.append(template.render_oneturn(messages, ex.system, ex.tools))
        kept.append(ex)
    ids = _oneturn_ids(template, encoder, renders)
    eos = [encoder.eos_id] if template.efficient_eos else []
    out: Columns = {
        key: [] for key in ("input_ids", "attention_mask", "labels", "kl_input_ids", "kl_attention_mask", "kl_labels")
    }
    for i, ex in zip(range(0, len(ids), 2), kept, strict=True):
        media = media_prefix(options, ex, tokenizer)
        for prefix, (prompt, response) in (("", ids[i]), ("kl_", ids[i + 1])):
            prompt = media + prompt
            response = response + eos
            source_len, target_len = infer_seqlen(len(prompt), len(response), options.effective_cutoff)
            input_ids = prompt[:source_len] + response[:target_len]
            out[f"{prefix}input_ids"].append(input_ids)
            out[f"{prefix}attention_mask"].append([1] * len(input_ids))
            out[f"{prefix}labels"].append([IGNORE_INDEX] * source_len + response[:target_len])
    out["kto_tags"] = tags
    return {**out, **media_columns(options, kept)}
