"""Media references of a dataset row: LLaMA-Factory's ``images`` / ``videos`` / ``audios`` columns as local paths.

A row's media column holds one path or a list of them (a video may also be a list of frame paths). As LLaMA-Factory
0.9.5 does for local data, a relative path is looked up under ``media_dir`` (default: ``dataset_dir``) and kept as
it is written when no file is there; unlike it, a path that names no file, and a URL (nothing is fetched at run
time), are reported for the row instead of failing later in the middle of encoding or training.
"""

import os
from collections.abc import Sequence
from typing import Any, Literal

MediaKind = Literal["images", "videos", "audios"]
MEDIA_KINDS: tuple[MediaKind, ...] = ("images", "videos", "audios")
PLACEHOLDERS: dict[MediaKind, str] = {
    "images": os.environ.get("IMAGE_PLACEHOLDER", "<image>"),
    "videos": os.environ.get("VIDEO_PLACEHOLDER", "<video>"),
    "audios": os.environ.get("AUDIO_PLACEHOLDER", "<audio>"),
}
"""The placeholders a message writes where a medium goes (LLaMA-Factory reads the same environment variables)."""
SINGULAR: dict[MediaKind, str] = {"images": "image", "videos": "video", "audios": "audio"}


class MediaError(ValueError):
    """A media reference that cannot be used; the message names the column and the value."""


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://", "ftp://", "s3://", "gs://"))


def _resolve(value: Any, media_dir: str, column: str) -> str:
    if not isinstance(value, str) or not value:
        raise MediaError(f"field {column!r} holds {type(value).__name__} {str(value)[:80]!r}; expected a file path")
    if _is_url(value):
        raise MediaError(
            f"field {column!r}: {value[:120]} is a URL; media must be local files (nothing is downloaded at run time)"
        )
    joined = os.path.join(media_dir, value)
    if os.path.isfile(joined):
        return joined
    if os.path.isfile(value):
        return value
    raise MediaError(f"field {column!r}: no file {value!r} under media_dir {media_dir!r} (nor in the working folder)")


def media_paths(raw: Any, media_dir: str, column: str) -> list[str]:
    """The resolved paths of one row's media column (``None`` and ``[]`` give ``[]``).

    A video given as frames (a list of image paths) becomes one string, its frame paths joined by ``\\n``.
    """
    if raw is None:
        return []
    values: Sequence[Any] = raw if isinstance(raw, list | tuple) else [raw]
    paths = []
    for value in values:
        if isinstance(value, list | tuple):
            paths.append("\n".join(_resolve(frame, media_dir, column) for frame in value))
        else:
            paths.append(_resolve(value, media_dir, column))
    return paths


def frames_of(path: str) -> list[str] | None:
    """The frame paths of a video given as frames, or None for a video file."""
    return path.split("\n") if "\n" in path else None


def placeholder_counts(texts: Sequence[str]) -> dict[MediaKind, int]:
    """How many ``<image>``, ``<video>`` and ``<audio>`` placeholders ``texts`` hold in all."""
    return {kind: sum(text.count(PLACEHOLDERS[kind]) for text in texts) for kind in MEDIA_KINDS}


def count_mismatch(texts: Sequence[str], media: dict[MediaKind, list[str]]) -> str | None:
    """Why the placeholders of a row's messages and its media do not match (LLaMA-Factory's check), or None."""
    counts = placeholder_counts(texts)
    problems = [
        f"{len(media.get(kind, []))} {kind} for {counts[kind]} {PLACEHOLDERS[kind]} placeholder(s)"
        for kind in MEDIA_KINDS
        if counts[kind] != len(media.get(kind, []))
    ]
    return "; ".join(problems) or None
