"""The media half of a multimodal batch, as LLaMA-Factory 0.9.5's ``MultiModalDataCollatorForSeq2Seq`` builds it.

Rows keep their media paths (``images``, ``videos``); a batch decodes them once, runs the model's image processor
(``pixel_values``, ``image_grid_thw``) and the plugin's video processing (``pixel_values_videos``,
``video_grid_thw``), and for Qwen-VL's multimodal RoPE computes the 3-D ``position_ids`` with the model's own
``get_rope_index``. A batch without any image or video gets a blank 64x64 image appended to its first row, masked
out of attention and loss, so that every rank runs the vision tower (DeepSpeed ZeRO-3 and FSDP hang otherwise).
"""

import inspect
from dataclasses import dataclass, field
from typing import Any

from lmf_engine.data.example import Message
from lmf_engine.data.media_paths import PLACEHOLDERS
from lmf_engine.data.multimodal import Media, MediaBatch, MediaEncoder
from lmf_engine.data.processors import IGNORE_INDEX
from lmf_engine.model.composite import media_token_types

MEDIA_COLUMNS = ("images", "videos", "audios")
SEQUENCE_MEDIA_INPUTS = ("position_ids", "token_type_ids", "cross_attention_mask")
"""Media inputs of each sequence (Qwen-VL's positions, Gemma 3's token types, mllama's cross-attention mask): a KTO
batch's KL sequences have their own, with a ``kl_`` prefix."""


def _unwrap(model: Any) -> Any:
    """The transformers model under a value head (reward models) and a peft wrapper."""
    model = getattr(model, "pretrained_model", model)
    base = getattr(model, "base_model", None)
    return getattr(base, "model", model) if base is not None and base is not model else model


def rope_index_function(model: Any) -> Any:
    """The model's ``get_rope_index`` (Qwen-VL's multimodal RoPE), or None."""
    if model is None:
        return None
    model = _unwrap(model)
    if hasattr(model, "get_rope_index"):
        return model.get_rope_index
    inner = getattr(model, "model", None)
    return getattr(inner, "get_rope_index", None)


@dataclass
class MediaCollation:
    """Splits a batch's media off its rows and makes the model's media inputs once the rows are padded."""

    encoder: MediaEncoder
    tokenizer: Any
    model: Any = None
    _rope_index: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._rope_index = rope_index_function(self.model)

    def split(self, features: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], MediaBatch]:
        """The rows without their media columns (each with ``token_type_ids`` where the model takes them), and the
        batch's media in row order. A batch without images or videos (audios) for a model that takes them gets a
        blank one, its tokens appended to the first row out of attention and loss."""
        rows = [{key: value for key, value in feature.items() if key not in MEDIA_COLUMNS} for feature in features]
        media = {kind: [item for feature in features for item in (feature.get(kind) or [])] for kind in MEDIA_COLUMNS}
        counts = [len(feature.get("images") or []) for feature in features]
        plugin, processor = self.encoder.plugin, self.encoder.processor
        for feature in features:
            self._check_whole(feature)
        blanks: list[Media] = []
        if plugin is not None and plugin.tokens.image is not None and not media["images"] and not media["videos"]:
            from PIL import Image

            blanks.append(Media(images=[Image.new("RGB", (64, 64), (255, 255, 255))]))
            media["images"], counts[0] = list(blanks[-1].images), 1
        if plugin is not None and plugin.tokens.audio is not None and not media["audios"]:
            import numpy as np

            blanks.append(Media(audios=[np.zeros(1600)]))
            media["audios"] = list(blanks[-1].audios)
        if blanks:
            rows[0] = self._with_blank_tokens(rows[0], blanks)
        if plugin is not None and plugin.tokens.image is not None:
            image_id = self.tokenizer.convert_tokens_to_ids(plugin.tokens.image)
            for row, count in zip(rows, counts, strict=True):
                types = plugin.token_types(row["input_ids"], count, image_id, processor)
                if types is not None:
                    row["token_type_ids"] = types
        return rows, MediaBatch(Media(**media), [row["input_ids"] for row in rows], counts)

    def _with_blank_tokens(self, row: dict[str, Any], blanks: list[Media]) -> dict[str, Any]:
        """``row`` with the tokens of the blank media, masked out of attention and loss, on the padding side."""
        plugin, processor = self.encoder.plugin, self.encoder.processor
        assert plugin is not None
        ids: list[int] = []
        for blank in blanks:
            kind = "images" if blank.images else "audios"
            text = plugin.expand([Message("user", PLACEHOLDERS[kind])], blank, processor)[0].content
            prefix = plugin.prefix(blank, processor)
            ids += self.tokenizer.convert_tokens_to_ids(prefix) if prefix else []
            ids += self.tokenizer.encode(text, add_special_tokens=False)
        row = dict(row)
        right = self.tokenizer.padding_side == "right"
        for key, value in (
            ("input_ids", ids),
            ("attention_mask", [0] * len(ids)),
            ("labels", [IGNORE_INDEX] * len(ids)),
        ):
            row[key] = list(row[key]) + value if right else value + list(row[key])
        return row

    def _check_whole(self, feature: dict[str, Any]) -> None:
        """A row whose image (video) tokens ``cutoff_len`` cut would fail in the model with a mismatch of features
        and tokens; say what to change instead."""
        plugin = self.encoder.plugin
        if plugin is None:
            return
        for kind in MEDIA_COLUMNS:
            token = plugin.feature_token(kind)  # type: ignore[arg-type]
            paths = feature.get(kind)
            if not paths or token is None:
                continue
            token_id = self.tokenizer.convert_tokens_to_ids(token)
            expected = sum(plugin.seqlens(kind, paths, self.encoder.processor))  # type: ignore[arg-type]
            found = sum(1 for token in feature["input_ids"] if token == token_id)
            if found < expected:
                advice = {
                    "images": "raise cutoff_len or lower image_max_pixels",
                    "videos": "raise cutoff_len or lower video_max_pixels or video_maxlen",
                    "audios": "raise cutoff_len or use shorter audio",
                }[kind]
                raise ValueError(
                    f"a training row keeps {found} of its {expected} {kind[:-1]} tokens ({len(paths)} {kind}, the "
                    f"first {paths[0]}): cutoff_len cut into its {kind}; {advice}"
                )

    def inputs(self, media: MediaBatch, batch: dict[str, Any]) -> dict[str, Any]:
        """``pixel_values`` (``pixel_values_videos``) and the other media inputs of the padded ``batch``, and
        Qwen-VL's ``position_ids``."""
        plugin, processor = self.encoder.plugin, self.encoder.processor
        inputs: dict[str, Any] = {}
        if plugin is not None:
            inputs.update(plugin.batch_inputs(media, processor, self.tokenizer))
        if "cross_attention_mask" in inputs:  # mllama's, as long as the rows: padded as they are
            inputs["cross_attention_mask"] = self._padded(inputs["cross_attention_mask"], batch["input_ids"].shape[1])
        if self._rope_index is not None:
            inputs["position_ids"] = self._positions(batch, inputs)
        return inputs

    def _padded(self, mask: Any, length: int) -> Any:
        import torch

        missing = length - mask.shape[1]
        pad = (0, 0, 0, 0, missing, 0) if self.tokenizer.padding_side == "left" else (0, 0, 0, 0, 0, missing)
        return torch.nn.functional.pad(mask, pad)

    def _positions(self, batch: dict[str, Any], media: dict[str, Any]) -> Any:
        import torch

        input_ids, mask = batch["input_ids"], batch["attention_mask"]
        if mask.sum() == 0:
            seq_len = input_ids.shape[-1]
            positions = torch.arange(seq_len).view(1, 1, seq_len).expand(3, *input_ids.shape).contiguous()
        else:
            kwargs: dict[str, Any] = {
                "input_ids": input_ids,
                "image_grid_thw": media.get("image_grid_thw"),
                "video_grid_thw": media.get("video_grid_thw"),
                "attention_mask": (mask >= 1).float(),
            }
            parameters = inspect.signature(self._rope_index).parameters
            if "second_per_grid_ts" in media:  # Qwen2.5-VL
                kwargs["second_per_grid_ts"] = media["second_per_grid_ts"]
            if "video_second_per_grid" in media:  # Qwen-Omni
                kwargs["second_per_grids"] = media["video_second_per_grid"]
            if "audio_seqlens" in parameters and media.get("feature_attention_mask") is not None:
                kwargs["audio_seqlens"] = media["feature_attention_mask"].sum(dim=1)
            if "mm_token_type_ids" in parameters:
                kwargs["mm_token_type_ids"] = media_token_types(input_ids, _unwrap(self.model).config)
            positions, _ = self._rope_index(**kwargs)
        return torch.cat(
            [positions[0].unsqueeze(0), positions], dim=0
        )  # text positions first, as transformers 5 reads
