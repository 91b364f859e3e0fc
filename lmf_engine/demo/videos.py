"""The demo's video clips and the dataset about them: a coloured shape moving across a plain background, asked about
in LLaMA-Factory's ``mllm_video_demo`` form (sharegpt ``messages`` + ``videos``).

The clips are written with PyAV as PNG frames in a QuickTime file: lossless RGB, so every FFmpeg build decodes the
same pixels, with the frame count, rate and duration in the header that the plugins sample frames by. Their lengths
and sizes cover the sampling arithmetic: an odd number of sampled frames (padded to an even one), a clip longer than
``video_maxlen`` frames at a high ``video_fps``, and one larger than the default ``video_max_pixels``. One video is
given as a list of frame pictures instead of a file, as LLaMA-Factory also takes it.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .images import COLOURS

VIDEO_DIR = "demo_videos"


@dataclass(frozen=True)
class Clip:
    """One demo clip: a ``colour`` ``shape`` moving ``direction`` on a ``background`` for ``seconds``."""

    name: str
    size: tuple[int, int]
    fps: int
    seconds: float
    shape: str
    colour: str
    background: str
    direction: str

    @property
    def path(self) -> str:
        """The path a dataset row gives, relative to the dataset folder."""
        return f"{VIDEO_DIR}/{self.name}.mov"

    @property
    def frames(self) -> int:
        return round(self.fps * self.seconds)

    @property
    def caption(self) -> str:
        return f"a {self.colour} {self.shape} moves {self.direction} on a {self.background} background"


CLIPS: tuple[Clip, ...] = (
    Clip("red_dot_right", (64, 48), 10, 2.0, "dot", "red", "white", "right"),
    Clip("blue_square_down", (96, 64), 8, 1.5, "square", "blue", "yellow", "down"),
    Clip("green_bar_left", (320, 240), 5, 3.0, "bar", "green", "black", "left"),
)
FRAME_CLIP = Clip("orange_dot_up", (48, 48), 2, 2.0, "dot", "orange", "blue", "up")
"""The clip given as frame pictures (``demo_videos/orange_dot_up/000.png`` ...) rather than a video file."""


def frame(clip: Clip, index: int) -> Any:
    """Frame ``index`` of ``clip`` as an RGB array (height, width, 3): the shape a step further each frame."""
    import numpy as np

    width, height = clip.size
    pixels = np.empty((height, width, 3), np.uint8)
    pixels[:, :] = COLOURS[clip.background]
    side = max(4, min(width, height) // 4)
    progress = index / max(1, clip.frames - 1)
    travel_x, travel_y = width - side, height - side
    x = {"right": progress * travel_x, "left": (1 - progress) * travel_x}.get(clip.direction, travel_x / 2)
    y = {"down": progress * travel_y, "up": (1 - progress) * travel_y}.get(clip.direction, travel_y / 2)
    left, top = int(x), int(y)
    pixels[top : top + side, left : left + side] = COLOURS[clip.colour]
    return pixels


def write_clip(clip: Clip, path: Path) -> None:
    """``clip`` as a QuickTime file of PNG frames at ``path``."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("png", rate=clip.fps)
        stream.width, stream.height = clip.size
        stream.pix_fmt = "rgb24"
        for index in range(clip.frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame(clip, index), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def frame_paths(clip: Clip) -> list[str]:
    """The paths of a clip's frame pictures, relative to the dataset folder."""
    return [f"{VIDEO_DIR}/{clip.name}/{index:03d}.png" for index in range(clip.frames)]


def clip_files(folder: Path) -> list[Path]:
    """The files :func:`write_clips` writes under ``folder`` (the dataset folder)."""
    return [folder / clip.path for clip in CLIPS] + [folder / path for path in frame_paths(FRAME_CLIP)]


def write_clips(folder: Path) -> list[Path]:
    """Write every demo clip (and the frame pictures of :data:`FRAME_CLIP`) under ``folder``; returns the paths."""
    from PIL import Image

    (folder / VIDEO_DIR / FRAME_CLIP.name).mkdir(parents=True, exist_ok=True)
    for clip in CLIPS:
        write_clip(clip, folder / clip.path)
    for index, path in enumerate(frame_paths(FRAME_CLIP)):
        Image.fromarray(frame(FRAME_CLIP, index)).save(folder / path, format="PNG", optimize=False)
    return clip_files(folder)


def _turn(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


def _clip_rows(clip: Clip, video: str | list[str]) -> list[dict[str, Any]]:
    return [
        {"messages": [_turn("user", question), _turn("assistant", answer)], "videos": [video]}
        for question, answer in (
            ("<video>What happens in this video?", f"In this video, {clip.caption}."),
            (f"Which way does the {clip.shape} move?<video>", f"The {clip.shape} moves {clip.direction}."),
            ("<video>What colour is the background?", f"The background is {clip.background}."),
        )
    ]


def video_rows() -> list[dict[str, Any]]:
    """Questions about each clip (the placeholder before or after the text), a clip and a picture together, and two
    clips in two turns (11 rows)."""
    rows = [row for clip in CLIPS for row in _clip_rows(clip, clip.path)]
    first, second = CLIPS[0], CLIPS[1]
    rows.append({
        "messages": [_turn("user", "<image>Is the shape in this picture the one in the video?<video>"),
                     _turn("assistant", f"No: the picture shows a circle, the video a {first.shape}.")],
        "images": ["demo_images/red_circle.png"],
        "videos": [first.path],
    })  # fmt: skip
    rows.append({
        "messages": [_turn("user", f"Where does the {first.shape} go?<video>"),
                     _turn("assistant", f"It moves {first.direction}."),
                     _turn("user", "<video>And here?"),
                     _turn("assistant", f"Here the {second.shape} moves {second.direction}.")],
        "videos": [first.path, second.path],
    })  # fmt: skip
    return rows


def video_frame_rows() -> list[dict[str, Any]]:
    """The questions about :data:`FRAME_CLIP`, its video given as its frame pictures (3 rows; a dataset of its own,
    as a JSON column cannot mix paths and lists of paths)."""
    return _clip_rows(FRAME_CLIP, frame_paths(FRAME_CLIP))


VIDEO_INFO = {
    "file_name": "demo_video.json",
    "formatting": "sharegpt",
    "columns": {"messages": "messages", "images": "images", "videos": "videos"},
    "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"},
}
VIDEO_FRAMES_INFO = {
    **VIDEO_INFO,
    "file_name": "demo_frames.json",
    "columns": {"messages": "messages", "videos": "videos"},
}
