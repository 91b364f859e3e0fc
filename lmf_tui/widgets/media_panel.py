"""A row's images, videos and audio in the row detail: pictures in the terminal, a few frames of each video, a
waveform of each audio file, with sizes and paths, or the one-line problem of a medium that cannot be read."""

from dataclasses import dataclass
from typing import Any

from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from lmf_engine.data.media_info import AudioInfo, ImageInfo, MediaInfo, MediaRef, VideoInfo
from lmf_engine.data.media_paths import SINGULAR

from ..dataset_entries import human_size
from ..images import IMAGE_WIDGETS, image_rows
from .waveform import Waveform

IMAGE_ROWS = 10
"""The most rows a picture takes (smaller pictures take their own height)."""
FRAME_ROWS = 6
"""The most rows a video frame takes."""


@dataclass(frozen=True)
class MediaItem:
    """One medium of the shown row, read in the background: ``info``, or the ``problem`` that stops reading it.

    ``shown`` is its path as the user reads it (relative to the workspace when inside it).
    """

    ref: MediaRef
    shown: str
    info: MediaInfo | None = None
    problem: str | None = None


def duration_text(seconds: float | None) -> str:
    """``m:ss.ss`` (``h:mm:ss`` from an hour), or ``?`` when unknown."""
    if seconds is None:
        return "?"
    minutes, rest = divmod(seconds, 60)
    if minutes >= 60:
        return f"{int(minutes // 60)}:{int(minutes % 60):02d}:{int(rest):02d}"
    return f"{int(minutes)}:{rest:05.2f}"


def describe(info: MediaInfo) -> str:
    """What a person wants to know of a medium at a glance: size, length, format and bytes."""
    if isinstance(info, ImageInfo):
        kind = f" · {info.format}" if info.format else ""
        return f"{info.width}×{info.height} px · {info.mode}{kind} · {human_size(info.file_size)}"
    if isinstance(info, VideoInfo):
        if info.frame_files:
            return f"{info.frame_files} frame files · {info.width}×{info.height} px · {human_size(info.file_size)}"
        parts = [f"{info.width}×{info.height} px", duration_text(info.duration)]
        if info.fps:
            parts.append(f"{info.fps:.3g} fps")
        if info.frame_count:
            parts.append(f"{info.frame_count:,} frames")
        parts += [info.codec or "?", human_size(info.file_size)]
        return " · ".join(parts)
    channels = {1: "mono", 2: "stereo"}.get(info.channels, f"{info.channels} channels")
    peak = f"peak {info.peak_dbfs:.1f} dBFS" if info.peak > 0 else "silent"
    return (
        f"{duration_text(info.duration)} · {info.sample_rate:,} Hz · {channels} · {info.codec} · "
        f"{human_size(info.file_size)} · {peak}"
    )


class MediaPanel(Vertical):
    """The media of the row in the detail; hidden for a row without media. Items arrive one by one for ``key``
    (the row they belong to): an item for another row, read before the user moved on, is dropped."""

    DEFAULT_CSS = """
    MediaPanel { height: auto; display: none; margin-bottom: 1; }
    MediaPanel.-shown { display: block; }
    MediaPanel .media-status { color: $text-muted; }
    MediaPanel .media-frames { height: auto; }
    MediaPanel .media-frames > Widget { margin-right: 1; }
    MediaPanel .media-item { height: auto; margin-bottom: 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.key: str | None = None
        self.renderer = "auto"
        """The ``images`` setting: which textual-image widget draws pictures."""
        self.counts: dict[str, int] = {}
        """Media shown so far, per kind: each is numbered within its kind (image 1, image 2, video 1…)."""
        self.status: Static | None = None

    def clear(self) -> None:
        """No media: hide the panel and forget the row."""
        self.key, self.counts, self.status = None, {}, None
        self.remove_children()
        self.remove_class("-shown")

    def begin(self, key: str) -> None:
        """The media of row ``key`` are being read: say so until they arrive."""
        self.clear()
        self.key = key
        self.add_class("-shown")
        self.status = Static("reading media…", classes="media-status")
        self.mount(self.status)

    def add(self, key: str, item: MediaItem) -> None:
        """Show one medium of row ``key`` (ignored when another row is shown now)."""
        if key != self.key:
            return
        self.counts[item.ref.kind] = self.counts.get(item.ref.kind, 0) + 1
        self.mount(self._item(item, self.counts[item.ref.kind]), before=self.status)

    def finish(self, key: str) -> None:
        """Every medium of row ``key`` is shown: drop the status line (and the panel when the row has none)."""
        if key != self.key:
            return
        if self.status is not None:
            self.status.remove()
            self.status = None
        if not self.counts:
            self.remove_class("-shown")

    def _caption(self, item: MediaItem, number: int) -> Content:
        """``image 1 · 96×64 px · RGB · PNG · 405 B`` above its path, or the kind and number and the problem."""
        head = Content.styled(f"{SINGULAR[item.ref.kind]} {number}", "bold $secondary")
        if item.info is None:
            return Content.assemble(head, " · ", (f"{item.problem}", "$error"))
        return Content.assemble(head, " · ", describe(item.info), "\n", (item.shown, "$text-muted"))

    def _picture(self, image: Any, most_rows: int) -> Widget:
        widget = IMAGE_WIDGETS[self.renderer](image)
        widget.styles.height = image_rows(image.height, most_rows)
        widget.styles.width = "auto"
        return widget

    def _item(self, item: MediaItem, number: int) -> Widget:
        caption = Static(self._caption(item, number), classes="media-caption")
        info = item.info
        if info is None:
            return Vertical(caption, classes="media-item")
        if isinstance(info, ImageInfo):
            return Vertical(caption, self._picture(info.preview, IMAGE_ROWS), classes="media-item")
        if isinstance(info, VideoInfo):
            frames = Horizontal(*(self._picture(f.image, FRAME_ROWS) for f in info.frames), classes="media-frames")
            parts: list[Widget] = [caption, frames]
            if times := [duration_text(f.time) for f in info.frames if f.time is not None]:
                times_text = Content.styled(f"frames at {', '.join(times)}", "$text-muted")
                parts.append(Static(times_text, classes="media-times"))
            return Vertical(*parts, classes="media-item")
        assert isinstance(info, AudioInfo)
        return Vertical(caption, Waveform(info.envelope), classes="media-item")
