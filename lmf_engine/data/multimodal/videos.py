"""Videos as LLaMA-Factory's Qwen-VL plugins see them: sampled frames, their count and size, and the pixels.

LLaMA-Factory 0.9.5 counts a video's tokens from its stream header (frame count, duration, rate and size): the
frames it samples (``video_fps`` a second, at most ``video_maxlen``, evenly spaced, made even), each regularized as an
image with ``video_max_pixels`` / ``video_min_pixels``, then resized by the video processor. :func:`video_shape`
repeats that arithmetic without decoding. :func:`video_frames` decodes the sampled frames for a batch, and
:func:`qwen_video_pixels` is the Qwen2-VL (Qwen3-VL) video processor's work (resize, rescale and normalize, temporal
patches) in torch alone, as transformers does it with torchvision, which this CPU stack cannot install.
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..media_paths import MediaError, frames_of
from .containers import first_stream
from .images import header_size, load_image, regularized_size

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
QWEN2_VIDEO_DEFAULTS: dict[str, Any] = {
    "size": {"shortest_edge": 128 * 28 * 28, "longest_edge": 28 * 28 * 768},
    "patch_size": 14,
    "temporal_patch_size": 2,
    "merge_size": 2,
    "image_mean": OPENAI_CLIP_MEAN,
    "image_std": OPENAI_CLIP_STD,
    "rescale_factor": 1 / 255,
    "do_resize": True,
    "do_rescale": True,
    "do_normalize": True,
}
"""transformers' ``Qwen2VLVideoProcessor`` defaults, for the keys a model's config leaves out."""
QWEN3_VIDEO_DEFAULTS: dict[str, Any] = {
    **QWEN2_VIDEO_DEFAULTS,
    "size": {"shortest_edge": 128 * 32 * 32, "longest_edge": 32 * 32 * 768},
    "patch_size": 16,
    "image_mean": (0.5, 0.5, 0.5),
    "image_std": (0.5, 0.5, 0.5),
}
"""transformers' ``Qwen3VLVideoProcessor`` defaults."""


def is_qwen3(settings: dict[str, Any]) -> bool:
    """Whether the video processor is Qwen3-VL's (its resize counts frames too)."""
    return "Qwen3VL" in str(settings.get("video_processor_type", ""))


def video_settings(folder: str | Path, processor_settings: dict[str, Any]) -> dict[str, Any]:
    """The model's video processor settings as transformers resolves them: ``processor_config.json``'s
    ``video_processor``, else ``video_preprocessor_config.json``, else the image processor's
    ``preprocessor_config.json``; ``min_pixels`` / ``max_pixels`` override ``size``; the processor class's
    defaults fill the rest."""
    folder = Path(folder)
    found = processor_settings.get("video_processor")
    for name in ("video_preprocessor_config.json", "preprocessor_config.json"):
        if isinstance(found, dict):
            break
        path = folder / name
        if path.is_file():
            try:
                found = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                found = None
    found = found if isinstance(found, dict) else {}
    settings = {**(QWEN3_VIDEO_DEFAULTS if is_qwen3(found) else QWEN2_VIDEO_DEFAULTS), **found}
    size = dict(settings["size"] or {})
    if settings.get("min_pixels") is not None:
        size["shortest_edge"] = settings["min_pixels"]
    if settings.get("max_pixels") is not None:
        size["longest_edge"] = settings["max_pixels"]
    settings["size"] = size
    return settings


def sample_indices(total_frames: int, seconds: float, video_fps: float, video_maxlen: int) -> list[int]:
    """The frames LLaMA-Factory samples: ``video_fps`` a second, at most ``video_maxlen`` and the frame count,
    evenly spaced (``video_maxlen`` frames from the start when the header has no frame count)."""
    import numpy as np

    if total_frames == 0:
        return np.linspace(0, video_maxlen - 1, video_maxlen).astype(np.int32).tolist()
    count = max(1, math.floor(seconds * video_fps))
    count = min(total_frames, video_maxlen, count)
    return np.linspace(0, total_frames - 1, count).astype(np.int32).tolist()


@dataclass(frozen=True)
class VideoShape:
    """A video's size (width, height) before regularization, its sampled frame indices (all of them for a list of
    frame pictures), the rate of the sampled frames (``video_fps`` where the header has no duration) and their
    times in seconds (the frame index over ``video_fps`` for a list of frames)."""

    size: tuple[int, int]
    indices: tuple[int, ...]
    sampled_fps: float
    times: tuple[float, ...]
    frame_files: tuple[str, ...] = ()


def video_shape(path: str, video_fps: float, video_maxlen: int) -> VideoShape:
    """What LLaMA-Factory reads of a video before decoding it: a file's stream header, or a list of frames."""
    frames = frames_of(path)
    if frames is not None:
        indices = tuple(range(len(frames)))
        return VideoShape(
            header_size(frames[0]), indices, video_fps, tuple(i / video_fps for i in indices), tuple(frames)
        )
    with first_stream(path, "video") as (_, stream):
        if stream.duration is None or stream.time_base is None:
            raise MediaError(f"{path}: its video stream gives no duration, so frames cannot be sampled by time")
        seconds = float(stream.duration * stream.time_base)
        indices = sample_indices(stream.frames, seconds, video_fps, video_maxlen)
        rate = float(stream.average_rate or 0) or video_fps
        times = tuple(i / rate for i in indices)
        return VideoShape((stream.width, stream.height), tuple(indices), len(indices) / seconds, times)


def video_frames(
    path: str, max_pixels: int, min_pixels: int, video_fps: float, video_maxlen: int, qwen: bool = True
) -> list[Any]:
    """The sampled frames of a video, decoded and regularized as LLaMA-Factory's plugins do (``max_pixels`` /
    ``min_pixels`` are ``video_max_pixels`` / ``_min_``); for Qwen-VL (``qwen``) made even in number (the last one
    repeated) and with its extra resizes."""
    shape = video_shape(path, video_fps, video_maxlen)
    frames: list[Any] = list(shape.frame_files)
    if not frames:
        wanted = set(shape.indices)
        with first_stream(path, "video") as (container, stream):
            container.seek(0)
            for index, frame in enumerate(container.decode(stream)):
                if index in wanted:
                    frames.append(frame.to_image())
    if qwen and len(frames) % 2:
        frames.append(frames[-1])
    return [load_image(frame, max_pixels, min_pixels, qwen=qwen) for frame in frames]


def _qwen3_resized(
    frames: int, height: int, width: int, temporal: int, factor: int, min_pixels: int, max_pixels: int
) -> tuple[int, int]:
    """Qwen3-VL's video ``smart_resize`` (in transformers' video processor module, which needs torchvision): sides
    rounded to ``factor``, then scaled so that frames (rounded up to ``temporal``) x height x width falls within the
    pixel bounds."""
    if min(height, width) < factor:
        raise ValueError(f"video frames of {width}x{height} are smaller than the model's {factor}-pixel patches")
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"video frames of {width}x{height}: the aspect ratio must be under 200")
    rounded_h, rounded_w = round(height / factor) * factor, round(width / factor) * factor
    volume = math.ceil(frames / temporal) * temporal * rounded_h * rounded_w
    if volume > max_pixels:
        scale = math.sqrt(frames * height * width / max_pixels)
        return (
            max(factor, math.floor(height / scale / factor) * factor),
            max(factor, math.floor(width / scale / factor) * factor),
        )
    if volume < min_pixels:
        scale = math.sqrt(min_pixels / (frames * height * width))
        return math.ceil(height * scale / factor) * factor, math.ceil(width * scale / factor) * factor
    return rounded_h, rounded_w


def _resized(frames: int, height: int, width: int, settings: dict[str, Any]) -> tuple[int, int]:
    """(height, width) the Qwen-VL video processor resizes frames to (Qwen3-VL's bounds count the frames)."""
    patch, merge, size = settings["patch_size"], settings["merge_size"], settings["size"]
    if not settings["do_resize"]:
        return height, width
    if is_qwen3(settings):
        return _qwen3_resized(
            frames, height, width, settings["temporal_patch_size"], patch * merge, size["shortest_edge"],
            size["longest_edge"],
        )  # fmt: skip
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize

    return smart_resize(
        height, width, factor=patch * merge, min_pixels=size["shortest_edge"], max_pixels=size["longest_edge"]
    )


def qwen_video_grid(shape: VideoShape, max_pixels: int, min_pixels: int, settings: dict[str, Any]) -> list[int]:
    """(t, h, w) patches of a video for the Qwen-VL video processor ``settings``, from its :class:`VideoShape`."""
    width, height = regularized_size(shape.size, max_pixels, min_pixels, qwen=True)
    frames = len(shape.indices) + len(shape.indices) % 2
    height, width = _resized(frames, height, width, settings)
    patch = settings["patch_size"]
    return [math.ceil(frames / settings["temporal_patch_size"]), height // patch, width // patch]


def frame_times(shape: VideoShape, group: int) -> list[float]:
    """Qwen3-VL's time of each temporal patch: the mean time of its first and last frame (the last frame repeated
    to fill the last patch), as its processor's ``_calculate_timestamps`` gives them."""
    times = list(shape.times)
    times += [times[-1]] * (-len(times) % group)
    return [(times[i] + times[i + group - 1]) / 2 for i in range(0, len(times), group)]


def _resize(frames: Any, height: int, width: int) -> Any:
    """torchvision's bicubic, antialiased resize of uint8 frames (N, C, H, W), in torch alone."""
    import torch

    if frames.shape[-2:] == (height, width):
        return frames
    resized = torch.nn.functional.interpolate(
        frames.to(torch.float32), size=[height, width], mode="bicubic", align_corners=False, antialias=True
    )
    return resized.clamp_(0, 255).round_().to(torch.uint8)


def qwen_video_pixels(videos: list[list[Any]], settings: dict[str, Any]) -> dict[str, Any]:
    """``pixel_values_videos`` and ``video_grid_thw`` of regularized videos (lists of RGB frames), as transformers'
    ``Qwen2VLVideoProcessor`` makes them."""
    import numpy as np
    import torch

    patch, merge, temporal = settings["patch_size"], settings["merge_size"], settings["temporal_patch_size"]
    mean = torch.tensor(settings["image_mean"]) * (1.0 / settings["rescale_factor"])
    std = torch.tensor(settings["image_std"]) * (1.0 / settings["rescale_factor"])
    pixels, grids = [], []
    for video in videos:
        frames = torch.from_numpy(np.stack([np.asarray(frame, dtype=np.uint8) for frame in video])).permute(0, 3, 1, 2)
        height, width = _resized(len(frames), *frames.shape[-2:], settings)
        frames = _resize(frames, height, width)
        if settings["do_normalize"]:
            values = (frames.to(torch.float32) - mean.view(-1, 1, 1)) / std.view(-1, 1, 1)
        else:
            values = frames.to(torch.float32) * (settings["rescale_factor"] if settings["do_rescale"] else 1.0)
        if pad := -values.shape[0] % temporal:
            values = torch.cat([values, values[-1:].expand(pad, -1, -1, -1)])
        grid_t, channels = values.shape[0] // temporal, values.shape[1]
        grid_h, grid_w = height // patch, width // patch
        patches = values.view(
            grid_t, temporal, channels, grid_h // merge, merge, patch, grid_w // merge, merge, patch
        ).permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
        pixels.append(patches.reshape(grid_t * grid_h * grid_w, channels * temporal * patch * patch))
        grids.append([grid_t, grid_h, grid_w])
    return {"pixel_values_videos": torch.cat(pixels), "video_grid_thw": torch.tensor(grids)}
