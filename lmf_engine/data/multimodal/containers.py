"""Opening a video or audio file with PyAV, with the errors a user can cause named with the file."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from ..media_paths import MediaError


@contextmanager
def first_stream(path: str, kind: Literal["audio", "video"]) -> Iterator[tuple[Any, Any]]:
    """(container, its first ``kind`` stream) of the file at ``path``; a :class:`MediaError` when it cannot be
    opened or has no such stream."""
    import av

    try:
        container = av.open(path, "r")
    except (av.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot open the {kind} {path}: {exc}") from None
    with container:
        stream = next((s for s in container.streams if s.type == kind), None)
        if stream is None:
            raise MediaError(f"{path} has no {kind} stream")
        yield container, stream
