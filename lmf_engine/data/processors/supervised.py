"""Supervised fine-tuning rows: multi-turn ids and labels, and packed rows (LLaMA-Factory's sft processors)."""

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from ..example import Example
from ..templates import ElementEncoder, Template
from .common import (
    IGNORE_INDEX,
    Columns,
    EncodeOptions,
    as_examples,
    greedy_knapsack,
    infer_seqlen,
    media_columns,
    media_prefix,
    warn_dropped,
    with_media,
)

log = logging.getLogger(__name__)
MAX_SUBSEQ_IDX = 2**32  # LLaMA-Factory's filler for packed rows without media


def build_supervised(
    pairs: Sequence[tuple[list[int], list[int]]],
    eos_id: int | None,
    cutoff_len: int,
    train_on_prompt: bool = False,
    mask_history: bool = False,
    efficient_eos: bool = False,
    prefix: Sequence[int] = (),
) -> tuple[list[int], list[int]]:
    """Input ids and labels from (prompt, response) id pairs, truncated turn by turn to ``cutoff_len``; ``prefix``
    (a multimodal plugin's, out of the loss) starts the ids and counts towards ``cutoff_len``."""
    input_ids: list[int] = list(prefix)
    labels: list[Any] = [IGNORE_INDEX] * len(prefix)
    total = len(prefix) + (1 if efficient_eos else 0)
    turns = list(pairs)[::-1] if mask_history else pairs
    for turn_idx, (source, target) in enumerate(turns):
        if total >= cutoff_len:
            break
        source_len, target_len = infer_seqlen(len(source), len(target), cutoff_len - total)
        source, target = source[:source_len], target[:target_len]
        total += source_len + target_len
        if train_on_prompt:
            source_label: list[Any] = source
        elif efficient_eos and turn_idx != 0:
            source_label = [eos_id] + [IGNORE_INDEX] * (source_len - 1)
        else:
            source_label = [IGNORE_INDEX] * source_len
        target_label = [IGNORE_INDEX] * target_len if (mask_history and turn_idx != 0) else target
        if mask_history:
            input_ids = source + target + input_ids
            labels = source_label + target_label + labels
        else:
            input_ids += source + target
            labels += source_label + target_label
    if efficient_eos:
        input_ids += [eos_id]  # type: ignore[list-item]
        labels += [eos_id]
    return input_ids, labels


def supervised_rows(
    template: Template,
    encoder: ElementEncoder,
    examples: Sequence[Example],
    options: EncodeOptions,
    kept: list[Example] | None = None,
) -> list[tuple[list[int], list[int]]]:
    """(input_ids, labels) for every valid example; invalid ones are logged and skipped (``kept`` gets the others)."""
    discard = options.mask_history and not template.preserve_thinking
    rendered = []
    prefixes = []
    for example in examples:
        if len(example.prompt) % 2 != 1 or len(example.response) != 1:
            warn_dropped(example)
            continue
        messages = with_media(options, [*example.prompt, *example.response], example)
        rendered.append(template.render_multiturn(messages, example.system, example.tools, discard))
        prefixes.append(media_prefix(options, example, encoder.tokenizer))
        if kept is not None:
            kept.append(example)
    encoder.prepare(elements for pairs in rendered for pair in pairs for elements in pair)
    eos_id = encoder.eos_id
    cutoff = options.effective_cutoff
    rows = []
    for pairs, prefix in zip(rendered, prefixes, strict=True):
        id_pairs = [(encoder.ids(source), encoder.ids(target)) for source, target in pairs]
        rows.append(
            build_supervised(
                id_pairs, eos_id, cutoff, options.train_on_prompt, options.mask_history, template.efficient_eos, prefix
            )
        )
    return rows


def encode_supervised(
    template: Template,
    tokenizer: Any,
    examples: Sequence[Example] | Mapping[str, Sequence[Any]],
    options: EncodeOptions | None = None,
    encoder: ElementEncoder | None = None,
) -> Columns:
    """``input_ids``, ``attention_mask`` and ``labels`` per example (LLaMA-Factory's SupervisedDatasetProcessor)."""
    options = options or EncodeOptions()
    encoder = encoder or ElementEncoder(tokenizer)
    out: Columns = {"input_ids": [], "attention_mask": [], "labels": []}
    kept: list[Example] = []
    for input_ids, labels in supervised_rows(template, encoder, as_examples(examples), options, kept):
        out["input_ids"].append(input_ids)
        out["attention_mask"].append([1] * len(input_ids))
        out["labels"].append(labels)
    return {**out, **media_columns(options, kept)}


def encode_packed_supervised(
    template: Template,
    tokenizer: Any,
    examples: Sequence[Example] | Mapping[str, Sequence[Any]],
    options: EncodeOptions | None = None,
    encoder: ElementEncoder | None = None,
) -> Columns:
    """Examples packed into rows of ``cutoff_len`` tokens (LLaMA-Factory's PackedSupervisedDatasetProcessor).

    Each row holds whole examples chosen by greedy knapsack and is padded with the pad id; ``position_ids`` restart
    at 0 per example. With ``neat_packing`` the attention mask numbers the examples 1, 2, ... (0 for padding) and
    ``packing_params`` gives the sub-sequence boundaries.
    """
    options = options or EncodeOptions(packing=True)
    if options.media is not None:
        raise ValueError("packing rows of a multimodal template is not supported in lmf workbench yet")
    encoder = encoder or ElementEncoder(tokenizer)
    rows = supervised_rows(template, encoder, as_examples(examples), options)
    return pack_encoded(rows, options.effective_cutoff, tokenizer.pad_token_id, options.neat_packing)


def pack_encoded(rows: Sequence[tuple[list[int], list[int]]], cutoff: int, pad_id: int, neat: bool) -> Columns:
    """Encoded (input_ids, labels) rows packed by greedy knapsack into rows of ``cutoff + 1`` tokens (longer rows
    are dropped); see :func:`encode_packed_supervised`."""
    kept: list[tuple[list[int], list[int]]] = []
    lengths: list[int] = []
    by_length: dict[int, list[int]] = defaultdict(list)
    for input_ids, labels in rows:
        if len(input_ids) > cutoff:
            log.warning("Dropped lengthy example with length %d > %d.", len(input_ids), cutoff)
            continue
        lengths.append(len(input_ids))
        by_length[len(input_ids)].append(len(kept))
        kept.append((input_ids, labels))
    out: Columns = defaultdict(list)
    for knapsack in greedy_knapsack(lengths, cutoff):
        ids: list[Any] = []
        mask: list[int] = []
        positions: list[int] = []
        labels: list[Any] = []
        boundaries = [0]
        for i, length in enumerate(knapsack):
            seq_ids, seq_labels = kept[by_length[length].pop()]
            ids += seq_ids
            positions += list(range(len(seq_ids)))
            labels += seq_labels
            mask += [i + 1 if neat else 1] * len(seq_ids)
            boundaries.append(boundaries[-1] + len(seq_ids))
        pad_length = 0
        if len(ids) < cutoff + 1:
            pad_length = cutoff - len(ids) + 1
            ids += [pad_id] * pad_length
            positions += [0] * pad_length
            labels += [IGNORE_INDEX] * pad_length
            mask += [0 if neat else 1] * pad_length
            boundaries.append(boundaries[-1] + pad_length)
        if len(ids) != cutoff + 1:
            raise ValueError("The length of packed example should be identical to the cutoff length.")
        out["input_ids"].append(ids)
        if neat:
            out["packing_params"].append(
                {
                    "sequence_boundaries": boundaries,
                    "image_subseq_ids": [MAX_SUBSEQ_IDX],
                    "video_subseq_ids": [MAX_SUBSEQ_IDX],
                    "audio_subseq_ids": [MAX_SUBSEQ_IDX],
                    "right_padding_length": pad_length,
                }
            )
        out["attention_mask"].append(mask)
        out["position_ids"].append(positions)
        out["labels"].append(labels)
    return dict(out)
