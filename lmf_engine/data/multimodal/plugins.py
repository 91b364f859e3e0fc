"""LLaMA-Factory's multimodal plugins, as far as they decide tokens: what each ``<image>`` / ``<video>`` /
``<audio>`` placeholder of a message becomes.

A plugin is named by the template (``multimodal = "qwen2_vl"``), writes the template's :class:`MediaTokens`, and
counts the tokens of each medium from its size (see :mod:`.images`) and the processor's settings, with LLaMA-Factory
0.9.5's arithmetic, so the ids equal LLaMA-Factory's without running the image processor per row.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ..example import Message
from ..media_paths import PLACEHOLDERS, SINGULAR, MediaKind
from ..templates.template import MediaTokens
from .audios import audio_length, load_audio
from .images import header_size, load_image, regularized_size
from .processor import MediaProcessor
from .videos import frame_times, qwen_video_grid, qwen_video_pixels, video_frames, video_shape


class MediaUnsupported(ValueError):
    """The template's plugin cannot take a medium a row has (or cannot yet in lmf); the message says which."""


@dataclass(frozen=True)
class Media:
    """One row's media paths."""

    images: Sequence[str] = ()
    videos: Sequence[str] = ()
    audios: Sequence[str] = ()

    def of(self, kind: MediaKind) -> Sequence[str]:
        return getattr(self, kind)


@dataclass(frozen=True)
class MediaBatch:
    """A training batch's media in row order, with each row's (unpadded) ids and image count."""

    media: Media
    rows: Sequence[Sequence[int]]
    image_counts: Sequence[int]


@dataclass(frozen=True)
class MediaPlugin:
    """A plugin that writes ``tokens``; subclasses say how many tokens each medium becomes."""

    name: str
    tokens: MediaTokens
    kinds: ClassVar[tuple[MediaKind, ...]] = ()
    """The media this plugin expands (in lmf); others are refused with the reason."""

    def check(self, media: Media, processor: MediaProcessor) -> None:
        """Raise :class:`MediaUnsupported` when the row has media this plugin or model cannot take."""
        for kind in ("images", "videos", "audios"):
            if not media.of(kind):  # type: ignore[arg-type]
                continue
            token = getattr(self.tokens, SINGULAR[kind])  # type: ignore[index]
            if token is None:
                raise MediaUnsupported(
                    f"the template's plugin ({self.name}) takes no {kind}: use a template of a model that does"
                )
            if kind not in self.kinds:
                raise MediaUnsupported(f"{kind} with the {self.name} plugin are not supported in lmf workbench yet")
            part = {"images": "image processor", "videos": "video processor", "audios": "audio feature extractor"}
            if self._part(kind, processor) is None:
                reason = processor.missing.get(part[kind], f"{processor.path or 'the model'} has none")
                raise MediaUnsupported(f"{kind} need the model's {part[kind]} ({reason})")

    @staticmethod
    def _part(kind: str, processor: MediaProcessor) -> Any:
        if kind == "images":
            return processor.image_processor
        if kind == "videos":
            return processor.image_processor
        return processor.feature_extractor

    qwen_sizes: ClassVar[bool] = False
    """Whether images get Qwen-VL's extra resizes (see :func:`.images.regularized_size`)."""

    def seqlens(self, kind: MediaKind, paths: Sequence[Any], processor: MediaProcessor) -> list[int]:
        """How many tokens each medium of ``kind`` becomes (a path, or an image in memory)."""
        raise NotImplementedError

    def regularized_images(self, images: Sequence[Any], processor: MediaProcessor) -> list[Any]:
        """The images decoded and resized as LLaMA-Factory's plugins resize them (what vLLM is given)."""
        options = processor.options
        return [
            load_image(image, options.image_max_pixels, options.image_min_pixels, self.qwen_sizes) for image in images
        ]

    def pixel_inputs(self, images: Sequence[Any], processor: MediaProcessor) -> dict[str, Any]:
        """The model's image inputs for a batch's images (``pixel_values``, and ``image_grid_thw`` for Qwen-VL),
        as LLaMA-Factory's ``get_mm_inputs`` makes them: each image regularized, then the image processor."""
        if not images:
            return {}
        return dict(processor.image_processor(self.regularized_images(images, processor), return_tensors="pt"))

    def video_inputs(self, videos: Sequence[str], processor: MediaProcessor) -> dict[str, Any]:
        """The model's video inputs for a batch's videos (none for a plugin without videos)."""
        return {}

    def audio_inputs(self, audios: Sequence[Any], processor: MediaProcessor) -> dict[str, Any]:
        """The model's audio inputs for a batch's audios (paths, or samples at the model's rate), as
        LLaMA-Factory's ``get_mm_inputs`` makes them: ``input_features`` and ``feature_attention_mask``."""
        if not audios:
            return {}
        rate = processor.options.audio_sampling_rate
        samples = [load_audio(audio, rate) if isinstance(audio, str) else audio for audio in audios]
        inputs = dict(
            processor.feature_extractor(
                samples, sampling_rate=rate, return_attention_mask=True, padding="max_length", return_tensors="pt"
            )
        )
        inputs["feature_attention_mask"] = inputs.pop("attention_mask", None)
        return inputs

    def media_inputs(self, media: Media, processor: MediaProcessor) -> dict[str, Any]:
        """The model's inputs for a batch's media (its images, videos and audios in row order)."""
        return {
            **self.pixel_inputs(media.images, processor),
            **self.video_inputs(media.videos, processor),
            **self.audio_inputs(media.audios, processor),
        }

    def batch_inputs(self, batch: "MediaBatch", processor: MediaProcessor, tokenizer: Any) -> dict[str, Any]:
        """The model's media inputs for a batch: :meth:`media_inputs` unless the model needs the rows (mllama's
        cross-attention mask)."""
        return self.media_inputs(batch.media, processor)

    def prefix(self, media: Media, processor: MediaProcessor, expand_tokens: bool = True) -> list[str]:
        """Tokens put before a row's ids, prompt included (PaliGemma's image tokens); none by default."""
        return []

    def token_types(
        self, input_ids: Sequence[int], images: int, image_token_id: int, processor: MediaProcessor
    ) -> Any:
        """The ``token_type_ids`` of one sequence with ``images`` images (None: the model takes none)."""
        return None

    def feature_token(self, kind: MediaKind) -> str | None:
        """The token that stands for each feature of a medium (what the model replaces with them)."""
        return getattr(self.tokens, SINGULAR[kind])

    def wrap(self, kind: MediaKind, count: int) -> str:
        """The text one medium becomes: its token ``count`` times (between the plugin's words, if any)."""
        token = getattr(self.tokens, SINGULAR[kind])
        return token * count

    def texts(
        self, kind: MediaKind, items: Sequence[Any], processor: MediaProcessor, expand_tokens: bool = True
    ) -> list[str]:
        """The text each medium of ``kind`` becomes; without ``expand_tokens`` one token each."""
        counts = self.seqlens(kind, items, processor) if expand_tokens else [1] * len(items)
        return [self.wrap(kind, n) for n in counts]

    def expand(
        self, messages: Sequence[Message], media: Media, processor: MediaProcessor, expand_tokens: bool = True
    ) -> list[Message]:
        """``messages`` with each placeholder replaced by its medium's tokens, in order across the messages; without
        ``expand_tokens`` by one token each (LLaMA-Factory's ``expand_mm_tokens``: vLLM expands them itself)."""
        self.check(media, processor)
        runs = {
            kind: iter(self.texts(kind, media.of(kind), processor, expand_tokens))
            for kind in self.kinds
            if media.of(kind)
        }
        out = []
        for message in messages:
            content = message.content
            for kind, texts in runs.items():
                content = _replace_each(content, PLACEHOLDERS[kind], texts)
            out.append(Message(message.role, content) if content != message.content else message)
        return out


def _replace_each(content: str, placeholder: str, texts: Any) -> str:
    if placeholder not in content:
        return content
    pieces = content.split(placeholder)
    return pieces[0] + "".join(next(texts) + piece for piece in pieces[1:])


def _size_value(size: Any, key: str) -> Any:
    return size.get(key) if isinstance(size, dict) else getattr(size, key, None)


@dataclass(frozen=True)
class QwenVLPlugin(MediaPlugin):
    """Qwen2-VL and Qwen2.5-VL: ``<|vision_start|>``, one ``<|image_pad|>`` (``<|video_pad|>``) per merged patch,
    then ``<|vision_end|>``; the grid is the processor's ``smart_resize`` of the regularized size (of a video's
    sampled frames, two frames a temporal patch)."""

    kinds: ClassVar[tuple[MediaKind, ...]] = ("images", "videos")
    qwen_sizes: ClassVar[bool] = True

    def wrap(self, kind: MediaKind, count: int) -> str:
        return f"{self.tokens.vision_bos}{super().wrap(kind, count)}{self.tokens.vision_eos}"

    def seqlens(self, kind: MediaKind, paths: Sequence[Any], processor: MediaProcessor) -> list[int]:
        image_processor = processor.image_processor
        if kind == "videos":
            merge_length = processor.video["merge_size"] ** 2
            return [math.prod(self.video_grid(path, processor)) // merge_length for path in paths]
        merge_length = image_processor.merge_size**2
        from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

        patch, merge = image_processor.patch_size, image_processor.merge_size
        size = image_processor.size
        min_pixels, max_pixels = _size_value(size, "shortest_edge"), _size_value(size, "longest_edge")
        options = processor.options
        counts = []
        for path in paths:
            width, height = regularized_size(
                header_size(path), options.image_max_pixels, options.image_min_pixels, qwen=True
            )
            if image_processor.do_resize:
                height, width = smart_resize(
                    height, width, factor=patch * merge, min_pixels=min_pixels, max_pixels=max_pixels
                )
            counts.append((height // patch) * (width // patch) // merge_length)
        return counts

    @staticmethod
    def video_grid(path: str, processor: MediaProcessor) -> list[int]:
        """(t, h, w) patches of the video at ``path``, from its header (see :mod:`.videos`)."""
        options = processor.options
        shape = video_shape(path, options.video_fps, options.video_maxlen)
        return qwen_video_grid(shape, options.video_max_pixels, options.video_min_pixels, processor.video)

    def video_inputs(self, videos: Sequence[str], processor: MediaProcessor) -> dict[str, Any]:
        if not videos:
            return {}
        options = processor.options
        frames = [
            video_frames(
                path, options.video_max_pixels, options.video_min_pixels, options.video_fps, options.video_maxlen
            )
            for path in videos
        ]
        inputs = qwen_video_pixels(frames, processor.video)
        if str(processor.setting("processor_class", "")).startswith("Qwen2_5_VL"):  # its RoPE takes frame times
            temporal = processor.image_processor.temporal_patch_size
            rates = [video_shape(path, options.video_fps, options.video_maxlen).sampled_fps for path in videos]
            inputs["second_per_grid_ts"] = [temporal / rate for rate in rates]
        return inputs


@dataclass(frozen=True)
class Qwen3VLPlugin(QwenVLPlugin):
    """Qwen3-VL: images as Qwen2-VL's (with its own processor's patch size); a video is, for each temporal patch,
    its time (``<0.5 seconds>``) then ``<|vision_start|>``, its ``<|video_pad|>`` tokens and ``<|vision_end|>``.

    LLaMA-Factory 0.9.5 gives every video of a row the first one's number of temporal patches and reads a video's
    frame times by the index of its message, so rows whose videos differ in length, or whose video is not in the
    first message, fail there; here each video has its own."""

    def texts(
        self, kind: MediaKind, items: Sequence[Any], processor: MediaProcessor, expand_tokens: bool = True
    ) -> list[str]:
        if kind != "videos" or not expand_tokens:
            return super().texts(kind, items, processor, expand_tokens)
        options, settings = processor.options, processor.video
        merge_length = settings["merge_size"] ** 2
        texts = []
        for path in items:
            shape = video_shape(path, options.video_fps, options.video_maxlen)
            _, height, width = qwen_video_grid(shape, options.video_max_pixels, options.video_min_pixels, settings)
            frame = self.wrap(kind, height * width // merge_length)
            texts.append(
                "".join(f"<{time:.1f} seconds>{frame}" for time in frame_times(shape, settings["merge_size"]))
            )
        return texts


@dataclass(frozen=True)
class QwenOmniPlugin(QwenVLPlugin):
    """Qwen2.5-Omni and Qwen3-Omni: images and videos as Qwen2-VL's (their own tokens and marks), audio as
    Qwen2-Audio's between the audio marks (Qwen3-Omni counts its encoder's frames in 100-frame windows). The videos'
    seconds per temporal patch go to the multimodal RoPE. ``use_audio_in_video`` (a video's audio interleaved with
    its frames) is not covered yet."""

    kinds: ClassVar[tuple[MediaKind, ...]] = ("images", "videos", "audios")

    def check(self, media: Media, processor: MediaProcessor) -> None:
        super().check(media, processor)
        if processor.options.use_audio_in_video and media.videos and media.audios:
            raise MediaUnsupported(
                f"use_audio_in_video with the {self.name} plugin is not supported in lmf workbench yet"
            )

    def wrap(self, kind: MediaKind, count: int) -> str:
        if kind == "audios":
            return f"{self.tokens.audio_bos}{str(self.tokens.audio) * count}{self.tokens.audio_eos}"
        return super().wrap(kind, count)

    def seqlens(self, kind: MediaKind, paths: Sequence[Any], processor: MediaProcessor) -> list[int]:
        if kind != "audios":
            return super().seqlens(kind, paths, processor)
        extractor = processor.feature_extractor
        rate, most = processor.options.audio_sampling_rate, extractor.n_samples // extractor.hop_length
        counts = []
        for path in paths:
            length = audio_length(path, rate) if isinstance(path, str) else len(path)
            frames = min(math.ceil(length / extractor.hop_length), most)
            if "Qwen3Omni" in str(processor.setting("processor_class", "")):
                rest = (frames % 100 - 1) // 2 + 1
                counts.append(((rest - 1) // 2 + 1 - 1) // 2 + 1 + (frames // 100) * 13)
            else:
                counts.append(((frames - 1) // 2 + 1 - 2) // 2 + 1)
        return counts

    def video_inputs(self, videos: Sequence[str], processor: MediaProcessor) -> dict[str, Any]:
        inputs = super().video_inputs(videos, processor)
        if videos:
            import torch

            options, temporal = processor.options, processor.image_processor.temporal_patch_size
            rates = [video_shape(path, options.video_fps, options.video_maxlen).sampled_fps for path in videos]
            inputs["video_second_per_grid"] = torch.tensor([temporal / rate for rate in rates])
        return inputs


@dataclass(frozen=True)
class GLM4VPlugin(QwenVLPlugin):
    """GLM-4.1V / GLM-4.5V: ``<|begin_of_image|>``, one ``<|image|>`` per merged patch, ``<|end_of_image|>``; the
    grid is the GLM image processor's (its resize counts the two temporal frames of an image). Videos (frames with
    their times, sampled by the GLM video processor) are not covered yet."""

    kinds: ClassVar[tuple[MediaKind, ...]] = ("images",)

    def seqlens(self, kind: MediaKind, paths: Sequence[Any], processor: MediaProcessor) -> list[int]:
        image_processor, options = processor.image_processor, processor.options
        merge_length = image_processor.merge_size**2
        counts = []
        for path in paths:
            width, height = regularized_size(
                header_size(path), options.image_max_pixels, options.image_min_pixels, qwen=True
            )
            counts.append(image_processor.get_number_of_image_patches(height, width) // merge_length)
        return counts


@dataclass(frozen=True)
class LlavaPlugin(MediaPlugin):
    """LLaVA-1.5: every image becomes the same number of ``<image>`` tokens, one per patch of the processed image
    (plus ``num_additional_image_tokens``, less the CLS feature with the ``default`` feature strategy)."""

    kinds: ClassVar[tuple[MediaKind, ...]] = ("images",)

    def seqlens(self, kind: MediaKind, paths: Sequence[Any], processor: MediaProcessor) -> list[int]:
        height, width = _processed_size(processor, paths[0])
        patch = processor.setting("patch_size")
        count = (height // patch) * (width // patch) + processor.setting("num_additional_image_tokens", 0)
        if processor.setting("vision_feature_select_strategy") == "default":
            count -= 1
        return [count] * len(paths)


@dataclass(frozen=True)
class LlavaNextPlugin(MediaPlugin):
    """LLaVA-NeXT: an image's ``<image>`` count depends on its size, the tiles of ``image_grid_pinpoints`` that best
    fit it, less their padding, plus one newline token per row (transformers' own count, as LLaMA-Factory uses it)."""

    kinds: ClassVar[tuple[MediaKind, ...]] = ("images",)

    def seqlens(self, kind: MediaKind, paths: Sequence[Any], processor: MediaProcessor) -> list[int]:
        from transformers import LlavaNextProcessor

        counter = LlavaNextProcessor.__new__(LlavaNextProcessor)  # its counting methods read only these attributes
        counter.image_processor = processor.image_processor
        counter.patch_size = processor.setting("patch_size")
        counter.num_additional_image_tokens = processor.setting("num_additional_image_tokens", 0)
        height, width = _processed_size(processor, paths[0])
        options = processor.options
        counts = []
        for path in paths:
            orig_width, orig_height = regularized_size(
                header_size(path), options.image_max_pixels, options.image_min_pixels
            )
            count = counter._get_number_of_features(orig_height, orig_width, height, width)
            counts.append(count - 1 if processor.setting("vision_feature_select_strategy") == "default" else count)
        return counts


def _processed_size(processor: MediaProcessor, first: Any) -> tuple[int, int]:
    """(height, width) of the pixel values the image processor makes of the row's first image (LLaMA-Factory
    uses that one for every image of the row): the crop size when the processor crops to a fixed size."""
    image_processor = processor.image_processor
    crop = getattr(image_processor, "crop_size", None)
    if getattr(image_processor, "do_center_crop", False) and crop is not None:
        return _size_value(crop, "height"), _size_value(crop, "width")
    options = processor.options
    image = load_image(first, options.image_max_pixels, options.image_min_pixels)
    pixels = image_processor([image], return_tensors="np")["pixel_values"][0]
    return int(pixels.shape[-2]), int(pixels.shape[-1])


@dataclass(frozen=True)
class PixtralPlugin(MediaPlugin):
    """Pixtral (and Mistral 3): an image resized to fit ``longest_edge`` in whole patches becomes, for each row of
    (merged) patches, one ``[IMG]`` per patch and ``[IMG_BREAK]``, the last break being ``[IMG_END]``."""

    kinds: ClassVar[tuple[MediaKind, ...]] = ("images",)

    def grids(self, paths: Sequence[Any], processor: MediaProcessor) -> list[tuple[int, int]]:
        """(rows, columns) of image tokens of each image."""
        import numpy as np
        from transformers.models.pixtral.image_processing_pil_pixtral import get_resize_output_image_size

        image_processor, options = processor.image_processor, processor.options
        longest = _size_value(image_processor.size, "longest_edge")
        patch = image_processor.patch_size
        patch_size = (_size_value(patch, "height"), _size_value(patch, "width"))
        token = processor.setting("patch_size", patch_size[0]) * processor.setting("spatial_merge_size", 1)
        grids = []
        for path in paths:
            width, height = regularized_size(header_size(path), options.image_max_pixels, options.image_min_pixels)
            blank = np.zeros((3, height, width), dtype=np.uint8)  # the output size depends on the size alone
            out_height, out_width = get_resize_output_image_size(
                blank, (longest, longest), patch_size, "channels_first"
            )
            grids.append((out_height // token, out_width // token))
        return grids

    def seqlens(self, kind: MediaKind, paths: Sequence[Any], processor: MediaProcessor) -> list[int]:
        return [rows * columns for rows, columns in self.grids(paths, processor)]

    def texts(
        self, kind: MediaKind, items: Sequence[Any], processor: MediaProcessor, expand_tokens: bool = True
    ) -> list[str]:
        image = str(self.tokens.image)
        if not expand_tokens:
            return [image] * len(items)
        row_end = processor.setting("image_break_token", "[IMG_BREAK]")
        image_end = processor.setting("image_end_token", "[IMG_END]")
        return [
            (image * columns + row_end) * (rows - 1) + image * columns + image_end
            for rows, columns in self.grids(items, processor)
        ]


@dataclass(frozen=True)
class Qwen2AudioPlugin(MediaPlugin):
    """Qwen2-Audio: ``<|audio_bos|>``, one ``<|AUDIO|>`` per encoder frame, ``<|audio_eos|>``; the frames follow
    the feature extractor's (one each ``hop_length`` samples, at most ``chunk_length`` seconds), halved by the
    encoder's convolution and again by its pooling."""

    kinds: ClassVar[tuple[MediaKind, ...]] = ("audios",)

    def seqlens(self, kind: MediaKind, paths: Sequence[Any], processor: MediaProcessor) -> list[int]:
        extractor = processor.feature_extractor
        rate = processor.options.audio_sampling_rate
        most = extractor.n_samples // extractor.hop_length
        counts = []
        for path in paths:
            length = audio_length(path, rate) if isinstance(path, str) else len(path)
            frames = min(math.ceil(length / extractor.hop_length), most)
            counts.append(((frames - 1) // 2 + 1 - 2) // 2 + 1)
        return counts

    def wrap(self, kind: MediaKind, count: int) -> str:
        return f"{self.tokens.audio_bos}{super().wrap(kind, count)}{self.tokens.audio_eos}"


INTERN_VL_IMAGE = "<img>{}</img>"
INTERN_VL_CONTEXT = "<IMG_CONTEXT>"


@dataclass(frozen=True)
class InternVLPlugin(MediaPlugin):
    """InternVL: each image tile becomes ``image_seq_length`` ``<IMG_CONTEXT>`` tokens, an image's tiles together
    between ``<img>`` and ``</img>`` (one tile, or the ``crop_to_patches`` tiles and a thumbnail); a video is one
    line ``FrameN: <img>...</img>`` per sampled frame. The words are LLaMA-Factory's, whatever the template's
    placeholders."""

    kinds: ClassVar[tuple[MediaKind, ...]] = ("images", "videos")

    def feature_token(self, kind: MediaKind) -> str | None:
        return INTERN_VL_CONTEXT

    @staticmethod
    def _tile_options(processor: MediaProcessor) -> dict[str, Any]:
        """The image processor's tiling with ``crop_to_patches`` (LLaMA-Factory's), else its own settings."""
        return (
            {"crop_to_patches": True, "max_patches": 12, "min_patches": 1} if processor.options.crop_to_patches else {}
        )

    def tiles(self, paths: Sequence[Any], processor: MediaProcessor) -> list[int]:
        """How many tiles each image becomes."""
        options, image_processor = processor.options, processor.image_processor
        counts = []
        for path in paths:
            width, height = regularized_size(header_size(path), options.image_max_pixels, options.image_min_pixels)
            counts.append(image_processor.get_number_of_image_patches(height, width, self._tile_options(processor)))
        return counts

    def _frames(self, path: str, processor: MediaProcessor) -> int:
        options = processor.options
        return len(video_shape(path, options.video_fps, options.video_maxlen).indices)

    def seqlens(self, kind: MediaKind, paths: Sequence[Any], processor: MediaProcessor) -> list[int]:
        per_tile = processor.setting("image_seq_length", 256)
        if kind == "videos":
            return [per_tile * self._frames(path, processor) for path in paths]
        return [per_tile * tiles for tiles in self.tiles(paths, processor)]

    def texts(
        self, kind: MediaKind, items: Sequence[Any], processor: MediaProcessor, expand_tokens: bool = True
    ) -> list[str]:
        per_tile = processor.setting("image_seq_length", 256) if expand_tokens else 1
        tile = INTERN_VL_CONTEXT * per_tile
        if kind == "videos":
            frame = INTERN_VL_IMAGE.format(tile)
            return [
                "\n".join(f"Frame{i + 1}: {frame}" for i in range(self._frames(path, processor))) for path in items
            ]
        return [INTERN_VL_IMAGE.format(tile * tiles) for tiles in self.tiles(items, processor)]

    def pixel_inputs(self, images: Sequence[Any], processor: MediaProcessor) -> dict[str, Any]:
        if not images:
            return {}
        regularized = self.regularized_images(images, processor)
        inputs = dict(processor.image_processor(regularized, return_tensors="pt", **self._tile_options(processor)))
        inputs.pop("num_patches", None)
        return inputs

    def video_inputs(self, videos: Sequence[str], processor: MediaProcessor) -> dict[str, Any]:
        if not videos:
            return {}
        import torch

        options = processor.options
        limits = (options.video_max_pixels, options.video_min_pixels, options.video_fps, options.video_maxlen)
        frames = [frame for path in videos for frame in video_frames(path, *limits, qwen=False)]
        pixels = processor.image_processor(frames, return_tensors="pt", crop_to_patches=False)["pixel_values"]
        return {"pixel_values": pixels if not isinstance(pixels, list) else torch.stack(pixels)}

    def media_inputs(self, media: Media, processor: MediaProcessor) -> dict[str, Any]:
        """The tiles of the images, then the frames of the videos, in one ``pixel_values``."""
        import torch

        parts = [self.pixel_inputs(media.images, processor), self.video_inputs(media.videos, processor)]
        pixels = [part["pixel_values"] for part in parts if part]
        return {"pixel_values": torch.cat(pixels)} if pixels else {}


@dataclass(frozen=True)
class MllamaPlugin(MediaPlugin):
    """Llama 3.2 Vision (mllama): each image stays one ``<|image|>`` token; the text attends to the image tiles
    through cross-attention, from each image's token on (``cross_attention_mask``)."""

    kinds: ClassVar[tuple[MediaKind, ...]] = ("images",)

    def seqlens(self, kind: MediaKind, paths: Sequence[Any], processor: MediaProcessor) -> list[int]:
        return [1] * len(paths)

    def batch_inputs(self, batch: "MediaBatch", processor: MediaProcessor, tokenizer: Any) -> dict[str, Any]:
        if not batch.media.images:
            return {}
        import torch
        from transformers.models.mllama.processing_mllama import (
            convert_sparse_cross_attention_mask_to_dense,
            get_cross_attention_token_mask,
        )

        images = iter(self.regularized_images(batch.media.images, processor))
        nested = [[next(images) for _ in range(count)] for count in batch.image_counts]
        inputs = dict(processor.image_processor(nested, return_tensors="pt"))
        tiles = inputs.pop("num_tiles")
        image_id = tokenizer.convert_tokens_to_ids(self.tokens.image)
        masks = [get_cross_attention_token_mask(list(ids), image_id) for ids in batch.rows]
        dense = convert_sparse_cross_attention_mask_to_dense(
            masks, num_tiles=tiles, max_num_tiles=processor.image_processor.max_image_tiles,
            length=max(len(ids) for ids in batch.rows),
        )  # fmt: skip
        inputs["cross_attention_mask"] = torch.from_numpy(dense)
        return inputs


PAN_AND_SCAN = {
    "do_pan_and_scan": True,
    "pan_and_scan_min_crop_size": 256,
    "pan_and_scan_max_num_crops": 4,
    "pan_and_scan_min_ratio_to_activate": 1.2,
}
"""Gemma 3's pan-and-scan settings with ``image_do_pan_and_scan`` (LLaMA-Factory's)."""
PAN_AND_SCAN_WORDS = "Here is the original image {} and here are some crops to help you see better "


@dataclass(frozen=True)
class Gemma3Plugin(MediaPlugin):
    """Gemma 3: each image becomes ``\\n\\n<start_of_image>``, ``image_seq_length`` soft tokens and
    ``<end_of_image>\\n\\n`` (just ``<start_of_image>`` unexpanded); with ``image_do_pan_and_scan`` the original
    image and its crops, in LLaMA-Factory's words. Image tokens have ``token_type_ids`` 1 (they attend both ways)."""

    kinds: ClassVar[tuple[MediaKind, ...]] = ("images",)

    def crops(self, paths: Sequence[Any], processor: MediaProcessor) -> list[int]:
        """How many pan-and-scan crops each image adds (none without ``image_do_pan_and_scan``)."""
        options = processor.options
        if not options.image_do_pan_and_scan:
            return [0] * len(paths)
        import numpy as np

        settings = {key: value for key, value in PAN_AND_SCAN.items() if key != "do_pan_and_scan"}
        counts = []
        for path in paths:
            width, height = regularized_size(header_size(path), options.image_max_pixels, options.image_min_pixels)
            blank = np.zeros((3, height, width), dtype=np.uint8)  # the crop count depends on the size alone
            counts.append(len(processor.image_processor.pan_and_scan(blank, **settings)))
        return counts

    def seqlens(self, kind: MediaKind, paths: Sequence[Any], processor: MediaProcessor) -> list[int]:
        per_image = processor.setting("image_seq_length", 256)
        return [(1 + n) * per_image for n in self.crops(paths, processor)]

    def texts(
        self, kind: MediaKind, items: Sequence[Any], processor: MediaProcessor, expand_tokens: bool = True
    ) -> list[str]:
        tokens = self.tokens
        per_image = processor.setting("image_seq_length", 256)
        image = f"\n\n{tokens.vision_bos}{tokens.image * per_image}{tokens.vision_eos}\n\n"
        image = image if expand_tokens else str(tokens.vision_bos)
        if not processor.options.image_do_pan_and_scan:
            return [image] * len(items)
        return [PAN_AND_SCAN_WORDS.format(image) + " ".join([image] * n) for n in self.crops(items, processor)]

    def pixel_inputs(self, images: Sequence[Any], processor: MediaProcessor) -> dict[str, Any]:
        if not images:
            return {}
        settings = PAN_AND_SCAN if processor.options.image_do_pan_and_scan else {}
        regularized = self.regularized_images(images, processor)
        inputs = dict(processor.image_processor(regularized, return_tensors="pt", **settings))
        inputs.pop("num_crops", None)
        return inputs

    def token_types(
        self, input_ids: Sequence[int], images: int, image_token_id: int, processor: MediaProcessor
    ) -> Any:
        return [int(token == image_token_id) for token in input_ids]


@dataclass(frozen=True)
class PaliGemmaPlugin(MediaPlugin):
    """PaliGemma: the ``<image>`` placeholders are removed and each image's ``image_seq_length`` image tokens go
    before the whole sequence (before the BOS token), out of the loss; ``token_type_ids`` are 0 for those tokens,
    1 for the text (LLaMA-Factory's: the prompt trains causally too)."""

    kinds: ClassVar[tuple[MediaKind, ...]] = ("images",)

    @staticmethod
    def per_image(processor: MediaProcessor) -> int:
        return int(
            getattr(processor.image_processor, "image_seq_length", None) or processor.setting("image_seq_length")
        )

    def seqlens(self, kind: MediaKind, paths: Sequence[Any], processor: MediaProcessor) -> list[int]:
        return [self.per_image(processor)] * len(paths)

    def texts(
        self, kind: MediaKind, items: Sequence[Any], processor: MediaProcessor, expand_tokens: bool = True
    ) -> list[str]:
        return [""] * len(items)

    def prefix(self, media: Media, processor: MediaProcessor, expand_tokens: bool = True) -> list[str]:
        count = len(media.images) * self.per_image(processor) if expand_tokens else 0  # vLLM adds them itself
        return [str(self.tokens.image)] * count

    def token_types(
        self, input_ids: Sequence[int], images: int, image_token_id: int, processor: MediaProcessor
    ) -> Any:
        prefix = images * self.per_image(processor)
        return [0] * prefix + [1] * (len(input_ids) - prefix)


PLUGINS: dict[str, Callable[[str, MediaTokens], MediaPlugin]] = {
    "qwen2_vl": QwenVLPlugin,
    "qwen3_vl": Qwen3VLPlugin,
    "llava": LlavaPlugin,
    "llava_next": LlavaNextPlugin,
    "gemma3": Gemma3Plugin,
    "paligemma": PaliGemmaPlugin,
    "pixtral": PixtralPlugin,
    "qwen2_audio": Qwen2AudioPlugin,
    "intern_vl": InternVLPlugin,
    "glm4v": GLM4VPlugin,
    "mllama": MllamaPlugin,
    "qwen2_omni": QwenOmniPlugin,
}
"""The plugins lmf expands; a template naming another one takes text only, and a row with media is refused."""


def get_plugin(name: str | None, tokens: MediaTokens) -> MediaPlugin | None:
    """The plugin a template names, or None for a text-only template."""
    if name is None:
        return None
    factory = PLUGINS.get(name)
    if factory is None:
        return _Unsupported(name, tokens)
    return factory(name, tokens)


@dataclass(frozen=True)
class _Unsupported(MediaPlugin):
    """A plugin of LLaMA-Factory's that lmf does not cover yet: rows without media still encode."""
