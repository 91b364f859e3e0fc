"""Batching for the preference stages, as LLaMA-Factory's ``PairwiseDataCollatorWithPadding`` and
``KTODataCollatorWithPadding`` do it (each sequence carries its row's media).

A pairwise batch of n rows has 2n sequences: the n chosen answers first, then the n rejected ones. A KTO batch holds
the rows' own sequences, the mismatched ``kl_*`` sequences used to estimate the KL term, and ``kto_tags`` (True for a
desirable answer). Padding is the sft collator's (longest row, rounded up to ``pad_to_multiple_of``).
"""

from dataclasses import dataclass
from typing import Any

from .collators import SFTCollator
from .media_batch import MEDIA_COLUMNS, SEQUENCE_MEDIA_INPUTS

SEQUENCE_KEYS = ("input_ids", "attention_mask", "labels")


def _media(feature: dict[str, Any]) -> dict[str, Any]:
    """A row's media columns (multimodal rows), which each of its sequences carries."""
    return {key: feature[key] for key in MEDIA_COLUMNS if key in feature}


@dataclass
class PairwiseCollator(SFTCollator):
    """Rows with ``chosen_*`` / ``rejected_*`` columns -> one batch of chosen then rejected sequences."""

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        sequences = [
            {**{key: feature[f"{side}_{key}"] for key in SEQUENCE_KEYS}, **_media(feature)}
            for side in ("chosen", "rejected")
            for feature in features
        ]
        return super().__call__(sequences)


@dataclass
class KTOCollator(SFTCollator):
    """Rows with target and ``kl_*`` sequences and a ``kto_tags`` flag -> the two padded batches and the tags."""

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        batch = super().__call__([{**{k: f[k] for k in SEQUENCE_KEYS}, **_media(f)} for f in features])
        kl_batch = super().__call__([{**{k: f[f"kl_{k}"] for k in SEQUENCE_KEYS}, **_media(f)} for f in features])
        for key in SEQUENCE_KEYS:
            batch[f"kl_{key}"] = kl_batch[key]
        for key in SEQUENCE_MEDIA_INPUTS:
            if key in kl_batch:
                batch[f"kl_{key}"] = kl_batch[key]
        batch["kto_tags"] = torch.tensor([bool(feature["kto_tags"]) for feature in features])
        return batch
