"""Batching encoded rows, as LLaMA-Factory's collators do.

:class:`SFTCollator` pads ``input_ids`` / ``attention_mask`` / ``labels`` / ``position_ids`` to the longest row,
rounded up to ``pad_to_multiple_of``, on the tokenizer's padding side. With ``neat_packing`` the packed rows'
attention mask numbers the examples (1, 2, ..., 0 for padding): it becomes a 4D block-diagonal causal mask, or for
FlashAttention 2 no mask at all (packed positions tell the kernel where each example starts). Multimodal rows get
their media inputs from a :class:`.media_batch.MediaCollation`.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lmf_engine.data.processors import IGNORE_INDEX

if TYPE_CHECKING:
    import torch

    from .media_batch import MediaCollation

PAD_VALUES = {"attention_mask": 0, "position_ids": 0, "token_type_ids": 0}


def block_diagonal_mask(indices: "torch.Tensor", dtype: "torch.dtype") -> "torch.Tensor":
    """(batch, seq) example numbers -> (batch, 1, seq, seq) additive mask: 0 where a token may attend (same example,
    not later, not padding), the dtype's minimum elsewhere."""
    import torch

    seq_len = indices.size(1)
    same = indices.unsqueeze(1).unsqueeze(2) == indices.unsqueeze(1).unsqueeze(3)
    real = (indices != 0).unsqueeze(1).unsqueeze(2)
    causal = torch.tril(torch.ones((seq_len, seq_len), dtype=torch.bool))
    allowed = same & real & causal
    return torch.where(allowed, torch.tensor(0, dtype=dtype), torch.finfo(dtype).min)


@dataclass
class SFTCollator:
    """Pads supervised rows into tensors; see the module docstring."""

    tokenizer: Any
    pad_to_multiple_of: int | None = 8
    label_pad_token_id: int = IGNORE_INDEX
    neat_packing: bool = False
    attn_implementation: str | None = None
    compute_dtype: "torch.dtype | None" = None
    media: "MediaCollation | None" = None
    """Multimodal rows: their images become the model's image inputs (see :mod:`.media_batch`)."""

    def _pad_value(self, key: str) -> int:
        if key == "input_ids":
            return self.tokenizer.pad_token_id
        if key == "labels":
            return self.label_pad_token_id
        return PAD_VALUES.get(key, 0)

    def _longest(self, features: list[dict[str, Any]], key: str) -> int:
        """The padded length of ``key``: labels have their own (a prediction's labels are the answer only)."""
        longest = max(len(feature[key]) for feature in features)
        if self.pad_to_multiple_of:
            longest = -(-longest // self.pad_to_multiple_of) * self.pad_to_multiple_of
        return longest

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        if self.media is not None:
            features, media = self.media.split(features)
        left = self.tokenizer.padding_side == "left"
        batch: dict[str, Any] = {}
        for key in features[0]:
            if key not in ("input_ids", "labels", "attention_mask", "position_ids", "token_type_ids"):
                continue
            longest = self._longest(features, "labels" if key == "labels" else "input_ids")
            rows = []
            for feature in features:
                values = list(feature[key])
                pad = [self._pad_value(key)] * (longest - len(values))
                rows.append(pad + values if left else values + pad)
            batch[key] = torch.tensor(rows, dtype=torch.long)
        if self.neat_packing:
            if self.attn_implementation == "flash_attention_2":
                if len(features) != 1:
                    raise ValueError("neat_packing with flash_attn: fa2 needs per_device_train_batch_size: 1")
                keep = batch["attention_mask"][0] != 0
                batch = {key: value[:, keep] for key, value in batch.items()}
                batch["attention_mask"] = None
            else:
                batch["attention_mask"] = block_diagonal_mask(
                    batch["attention_mask"], self.compute_dtype or torch.float32
                )
        if self.media is not None:
            batch.update(self.media.inputs(media, batch))
            for key, value in batch.items():
                if torch.is_tensor(value) and torch.is_floating_point(value) and self.compute_dtype is not None:
                    batch[key] = value.to(self.compute_dtype)
        return batch
