"""A row's media as a person looks at them: each image's size, mode and bytes, a video's duration and a few frames,
an audio file's duration, sample rate and loudness envelope.

    refs = row_media(row, spec, media_dir)             # every reference of the row, resolved or with its problem
    info = read_media(refs[0])                          # ImageInfo | VideoInfo | AudioInfo, or MediaInfoError
    waveform(audio.envelope, 60)                        # '▁▂▅█▇▃▁…', one character per column

Images are read with PIL, videos and audio are decoded with PyAV (``av``). Reading decodes pixels and samples, so
callers that draw a UI run it in a worker thread. A file that is missing, unreadable or not a medium of its kind is
a :class:`MediaInfoError` with a one-line message that names the file: never a crash of the caller.
"""

import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from .media_paths import MediaError, MediaKind, frames_of, media_paths
from .registry import DatasetSpec

if TYPE_CHECKING:
    from PIL.Image import Image

FRAMES = 4
"""Frames shown of a video, evenly spaced over its duration."""
PREVIEW_SIZE = (640, 640)
"""The largest picture kept for display (a thumbnail within this box): the terminal never shows more pixels."""
ENVELOPE_BUCKETS = 512
"""Peaks kept of an audio file; :func:`waveform` folds them to the width it is drawn at."""
BLOCK_S = 0.01
"""Audio is reduced to one peak per 10 ms block while decoding, so memory does not grow with the samples."""
LEVELS = "▁▂▃▄▅▆▇█"


class MediaInfoError(ValueError):
    """A medium that cannot be shown; the one-line message names the file and the reason."""


@dataclass(frozen=True)
class MediaRef:
    """One medium of a row: its column's kind, the value as the row writes it, and its local path or its problem."""

    kind: MediaKind
    value: str
    path: str | None
    problem: str | None = None


@dataclass(frozen=True)
class ImageInfo:
    """An image file: its pixel size, PIL mode (``RGB``, ``L``, ``P``…), format, bytes on disk and a preview."""

    path: str
    width: int
    height: int
    mode: str
    format: str | None
    file_size: int
    preview: "Image"
    """RGB(A) thumbnail within :data:`PREVIEW_SIZE` (the image itself when smaller)."""


@dataclass(frozen=True)
class Frame:
    """A picture of a video at ``time`` seconds (None for a video given as frame files)."""

    time: float | None
    image: "Image"


@dataclass(frozen=True)
class VideoInfo:
    """A video file (``codec`` set) or a video given as frame files (``frame_files`` > 0), with a few frames."""

    path: str
    width: int
    height: int
    duration: float | None
    fps: float | None
    frame_count: int | None
    codec: str | None
    file_size: int
    frames: tuple[Frame, ...]
    frame_files: int = 0


@dataclass(frozen=True)
class AudioInfo:
    """An audio file: duration from its decoded samples, rate, channels, codec, and its peak envelope in [0, 1]."""

    path: str
    duration: float
    sample_rate: int
    channels: int
    codec: str
    file_size: int
    envelope: tuple[float, ...]
    peak: float

    @property
    def peak_dbfs(self) -> float:
        """The loudest sample in dB relative to full scale (``-inf`` for silence)."""
        return 20 * math.log10(self.peak) if self.peak > 0 else -math.inf


MediaInfo = ImageInfo | VideoInfo | AudioInfo


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        first = str(value[0]) if value else ""
        return f"{len(value)} frames: {first}, …" if len(value) > 1 else first
    return str(value)


def row_media(row: Mapping[str, Any], spec: DatasetSpec, media_dir: str) -> list[MediaRef]:
    """Every medium of ``row`` in column order (images, videos, audios), each resolved on its own under
    ``media_dir`` as training resolves it, so that one missing file does not hide the others."""
    refs: list[MediaRef] = []
    for kind in spec.media_columns:
        column = getattr(spec.columns, kind)
        raw = row.get(column)
        values = [] if raw is None else list(raw) if isinstance(raw, list | tuple) else [raw]
        for value in values:
            try:
                refs.append(MediaRef(kind, _shown(value), media_paths([value], media_dir, column)[0]))  # type: ignore[arg-type]
            except MediaError as exc:
                refs.append(MediaRef(kind, _shown(value), None, str(exc)))  # type: ignore[arg-type]
    return refs


def _file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError as exc:
        raise MediaInfoError(f"cannot read {path}: {exc.strerror or exc}") from None


def _preview(image: "Image") -> "Image":
    """An RGB or RGBA copy within PREVIEW_SIZE, pixels decoded (safe to hand to another thread)."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    picture = image.convert("RGBA" if has_alpha else "RGB")
    picture.thumbnail(PREVIEW_SIZE)
    return picture


def read_image(path: str) -> ImageInfo:
    """The image at ``path``: size and mode from the file, and a preview (its pixels decoded)."""
    from PIL import Image, UnidentifiedImageError

    size = _file_size(path)
    try:
        with Image.open(path) as image:
            width, height = image.size
            return ImageInfo(path, width, height, image.mode, image.format, size, _preview(image))
    except UnidentifiedImageError:
        raise MediaInfoError(f"{path} is not an image PIL can read") from None
    except (OSError, ValueError, SyntaxError) as exc:  # PIL raises SyntaxError for some broken headers
        raise MediaInfoError(f"cannot read image {path}: {exc}") from None


def _frame_targets(duration: float, count: int) -> list[float]:
    """``count`` times evenly spaced over ``duration``: the middle of each of ``count`` equal parts."""
    return [duration * (i + 0.5) / count for i in range(count)]


def _pick(items: Sequence[Any], count: int) -> list[Any]:
    """``count`` items evenly spaced over ``items`` (all of them when there are fewer)."""
    if len(items) <= count:
        return list(items)
    return [items[int(len(items) * (i + 0.5) / count)] for i in range(count)]


def _video_frames(container: Any, stream: Any, duration: float | None, count: int) -> list[Frame]:
    """Frames nearest to evenly spaced times: one seek (to the keyframe before) and a short decode per frame."""
    import av

    frames: list[Frame] = []
    if duration is None or stream.time_base is None:  # no duration: the first frames
        for frame in container.decode(stream):
            frames.append(Frame(frame.time, _preview(frame.to_image())))
            if len(frames) == count:
                break
        return frames
    for target in _frame_targets(duration, count):
        start = stream.start_time or 0
        try:
            container.seek(start + int(target / stream.time_base), stream=stream, backward=True)
        except av.FFmpegError:
            container.seek(start, stream=stream)
        chosen = None
        for frame in container.decode(stream):
            chosen = frame
            if frame.time is None or frame.time >= target:
                break
        if chosen is not None:
            frames.append(Frame(chosen.time, _preview(chosen.to_image())))
    return frames


def _video_file(path: str, count: int) -> VideoInfo:
    import av

    size = _file_size(path)
    with av.open(path) as container:
        if not container.streams.video:
            raise MediaInfoError(f"{path} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if stream.duration is not None and stream.time_base is not None:
            duration: float | None = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = None
        fps = float(stream.average_rate) if stream.average_rate else None
        context = stream.codec_context
        frames = _video_frames(container, stream, duration, count)
        return VideoInfo(
            path,
            context.width,
            context.height,
            duration,
            fps,
            stream.frames or None,
            context.name,
            size,
            tuple(frames),
        )


def _video_frame_files(paths: list[str], count: int) -> VideoInfo:
    shown = [read_image(p) for p in _pick(paths, count)]
    first = shown[0]
    size = sum(_file_size(p) for p in paths)
    frames = tuple(Frame(None, info.preview) for info in shown)
    return VideoInfo(paths[0], first.width, first.height, None, None, len(paths), None, size, frames, len(paths))


def read_video(path: str, frames: int = FRAMES) -> VideoInfo:
    """The video at ``path`` (or the ``\\n``-joined frame files of a video given as frames) with ``frames`` frames."""
    listed = frames_of(path)
    if listed is not None:
        return _video_frame_files(listed, frames)
    with _reading("video", path):
        return _video_file(path, frames)


@contextmanager
def _reading(kind: str, path: str) -> Iterator[None]:
    """Decoding errors of ``av`` and the file system as one :class:`MediaInfoError` naming the file."""
    import av

    try:
        yield
    except MediaInfoError:
        raise
    except av.FFmpegError as exc:
        raise MediaInfoError(f"cannot read {kind} {path}: {exc.strerror or exc}") from None
    except (OSError, ValueError) as exc:
        raise MediaInfoError(f"cannot read {kind} {path}: {exc}") from None


class _Peaks:
    """Peak per BLOCK_S block of samples, fed chunk by chunk; a block split over chunks is completed by the next."""

    def __init__(self, block: int) -> None:
        import numpy as np

        self.block = block
        self.rest = np.zeros(0, dtype=np.float32)
        self.peaks: list[Any] = []
        self.samples = 0

    def feed(self, chunk: Any) -> None:
        import numpy as np

        self.samples += len(chunk)
        data = np.concatenate([self.rest, chunk]) if len(self.rest) else chunk
        whole = len(data) // self.block * self.block
        if whole:
            self.peaks.append(data[:whole].reshape(-1, self.block).max(axis=1))
        self.rest = data[whole:]

    def finish(self) -> Any:
        import numpy as np

        parts = [*self.peaks, np.array([self.rest.max()], dtype=np.float32)] if len(self.rest) else self.peaks
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def _envelope(peaks: Any, buckets: int) -> tuple[float, ...]:
    """Block peaks folded into at most ``buckets`` peaks (each the loudest of its blocks), clipped to [0, 1]."""
    if not len(peaks):
        return ()
    count = min(buckets, len(peaks))
    edges = [len(peaks) * i // count for i in range(count + 1)]
    return tuple(min(1.0, float(peaks[a:b].max())) for a, b in pairwise(edges))


def _audio_file(path: str, buckets: int, stop: Callable[[], bool]) -> AudioInfo:
    import av
    import numpy as np

    size = _file_size(path)
    with av.open(path) as container:
        if not container.streams.audio:
            raise MediaInfoError(f"{path} has no audio stream")
        stream = container.streams.audio[0]
        context = stream.codec_context
        rate = context.sample_rate
        channels = context.layout.nb_channels if context.layout is not None else 1
        resampler = av.AudioResampler(format="fltp", rate=rate)
        peaks = _Peaks(max(1, int(rate * BLOCK_S)))

        def take(frames: list[Any]) -> None:
            for out in frames:
                peaks.feed(np.abs(out.to_ndarray()).max(axis=0))

        for frame in container.decode(stream):
            if stop():
                break
            take(resampler.resample(frame))
        take(resampler.resample(None))
        block_peaks = peaks.finish()
        return AudioInfo(
            path,
            peaks.samples / rate if rate else 0.0,
            rate,
            channels,
            context.name,
            size,
            _envelope(block_peaks, buckets),
            min(1.0, float(block_peaks.max())) if len(block_peaks) else 0.0,
        )


def read_audio(path: str, buckets: int = ENVELOPE_BUCKETS, stop: Callable[[], bool] = lambda: False) -> AudioInfo:
    """The audio at ``path``: every sample decoded for its exact duration and its envelope of ``buckets`` peaks.

    ``stop`` is asked between decoded frames; when it says True the file is read no further.
    """
    with _reading("audio", path):
        return _audio_file(path, buckets, stop)


def read_media(ref: MediaRef, stop: Callable[[], bool] = lambda: False) -> MediaInfo:
    """What :func:`read_image`, :func:`read_video` or :func:`read_audio` read of ``ref`` (by its kind)."""
    if ref.path is None:
        raise MediaInfoError(ref.problem or f"{ref.value}: no file")
    if ref.kind == "images":
        return read_image(ref.path)
    if ref.kind == "videos":
        return read_video(ref.path)
    return read_audio(ref.path, stop=stop)


def waveform(envelope: Sequence[float], width: int) -> str:
    """A one-line waveform of ``width`` characters (``▁`` silence … ``█`` full scale), each column the loudest
    peak of the part of the envelope it covers."""
    if width <= 0 or not envelope:
        return ""
    columns = []
    for column in range(width):
        start = len(envelope) * column // width
        end = max(start + 1, len(envelope) * (column + 1) // width)
        level = max(envelope[start:end])
        columns.append(LEVELS[min(len(LEVELS) - 1, int(level * len(LEVELS)))])
    return "".join(columns)
