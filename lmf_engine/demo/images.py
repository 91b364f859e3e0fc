"""The demo's pictures and the multimodal datasets about them: coloured shapes, asked about in LLaMA-Factory's
``mllm_demo`` form (sharegpt ``messages`` + ``images``).

The pictures are drawn with PIL, deterministically, as PNG files (lossless, so every PIL version decodes the same
pixels). Their sizes cover each branch of the plugins' resize arithmetic: small and wide, tall, larger than the
default ``image_max_pixels``, smaller than ``image_min_pixels``, and grey-scale and palette images.
"""

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IMAGE_DIR = "demo_images"


@dataclass(frozen=True)
class Picture:
    """One demo picture: a ``colour`` ``shape`` on a ``background``."""

    name: str
    size: tuple[int, int]
    shape: str
    colour: str
    background: str
    mode: str = "RGB"

    @property
    def path(self) -> str:
        """The path a dataset row gives, relative to the dataset folder."""
        return f"{IMAGE_DIR}/{self.name}.png"

    @property
    def caption(self) -> str:
        return f"a {self.colour} {self.shape} on a {self.background} background"


PICTURES: tuple[Picture, ...] = (
    Picture("red_circle", (96, 64), "circle", "red", "white"),
    Picture("blue_square", (200, 150), "square", "blue", "yellow"),
    Picture("green_triangle", (1000, 700), "triangle", "green", "black"),
    Picture("purple_stripe", (40, 300), "stripe", "purple", "white"),
    Picture("orange_banner", (600, 20), "banner", "orange", "blue"),
    Picture("grey_dot", (24, 24), "dot", "grey", "white", mode="L"),
    Picture("pink_circle", (128, 80), "circle", "pink", "green", mode="P"),
)
COLOURS = {
    "red": (220, 30, 30), "blue": (30, 60, 220), "green": (30, 170, 60), "purple": (130, 40, 170),
    "orange": (250, 140, 20), "grey": (128, 128, 128), "pink": (250, 150, 190), "white": (255, 255, 255),
    "yellow": (250, 220, 40), "black": (0, 0, 0),
}  # fmt: skip


def draw(picture: Picture) -> Any:
    """The picture as a PIL image."""
    from PIL import Image, ImageDraw

    width, height = picture.size
    image = Image.new("RGB", picture.size, COLOURS[picture.background])
    pen = ImageDraw.Draw(image)
    box = (width // 6, height // 6, width - width // 6, height - height // 6)
    fill = COLOURS[picture.colour]
    if picture.shape in ("circle", "dot"):
        pen.ellipse(box, fill=fill)
    elif picture.shape == "triangle":
        pen.polygon([(box[0], box[3]), ((box[0] + box[2]) // 2, box[1]), (box[2], box[3])], fill=fill)
    else:
        pen.rectangle(box, fill=fill)
    if picture.mode == "L":
        return image.convert("L")
    if picture.mode == "P":
        return image.convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    return image


def write_pictures(folder: Path) -> list[Path]:
    """Write every demo picture into ``folder`` (made if missing); returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for picture in PICTURES:
        path = folder / f"{picture.name}.png"
        draw(picture).save(path, format="PNG", optimize=False)
        paths.append(path)
    return paths


def _turn(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


def mllm_rows() -> list[dict[str, Any]]:
    """Questions about one, two or three pictures, single and multi-turn, the placeholder before or after the text,
    and a few rows without pictures (42 rows)."""
    rows: list[dict[str, Any]] = []
    for picture in PICTURES:
        for question, answer in (
            ("<image>What is in this picture?", f"It shows {picture.caption}."),
            (f"What colour is the {picture.shape}?<image>", f"The {picture.shape} is {picture.colour}."),
            ("<image>What colour is the background?", f"The background is {picture.background}."),
        ):
            rows.append({"messages": [_turn("user", question), _turn("assistant", answer)], "images": [picture.path]})
    for first, second in [*itertools.pairwise(PICTURES), *itertools.pairwise(PICTURES[::-1])]:
        rows.append({
            "messages": [
                _turn("user", f"What colour is the {first.shape}?<image>"),
                _turn("assistant", f"The {first.shape} is {first.colour}."),
                _turn("user", "<image>And in this one, what is the shape?"),
                _turn("assistant", f"This one is a {second.shape}."),
            ],
            "images": [first.path, second.path],
        })  # fmt: skip
    for trio in zip(PICTURES, PICTURES[1:], PICTURES[2:], strict=False):
        shapes = ", ".join(f"a {p.colour} {p.shape}" for p in trio)
        rows.append({"messages": [_turn("user", "<image><image><image>Name the shapes in order."),
                                  _turn("assistant", f"They are {shapes}.")],
                     "images": [p.path for p in trio]})  # fmt: skip
    for first, second, mix in (("red", "yellow", "orange"), ("blue", "yellow", "green"), ("red", "blue", "purple"),
                               ("black", "white", "grey")):  # fmt: skip
        rows.append({"messages": [_turn("user", f"Which colour do {first} and {second} make?"),
                                  _turn("assistant", f"{first.capitalize()} and {second} make {mix}.")]})  # fmt: skip
    return rows


def mllm_dpo_rows() -> list[dict[str, Any]]:
    """Preference pairs about a picture: the right caption is chosen, one with a wrong colour, shape or background
    rejected (21 rows)."""
    rows = []
    for picture, other in zip(PICTURES, PICTURES[1:] + PICTURES[:1], strict=True):
        wrong = (
            f"a {other.colour} {picture.shape} on a {picture.background} background",
            f"a {picture.colour} {other.shape} on a {picture.background} background",
            f"a {picture.colour} {picture.shape} on a {other.background} background",
        )
        for caption in wrong:
            rows.append({
                "messages": [_turn("user", "<image>Describe the picture.")],
                "chosen": _turn("assistant", f"It shows {picture.caption}."),
                "rejected": _turn("assistant", f"It shows {caption}."),
                "images": [picture.path],
            })  # fmt: skip
    return rows


def mllm_kto_rows() -> list[dict[str, Any]]:
    """Answers about a picture tagged desirable (right) or undesirable (a wrong colour) for KTO (21 rows)."""
    rows = []
    for picture, other in zip(PICTURES, PICTURES[1:] + PICTURES[:1], strict=True):
        for question, right, wrong in (
            ("<image>What is in this picture?", picture.caption, f"a {other.colour} {picture.shape}"),
            (f"What colour is the {picture.shape}?<image>", picture.colour, other.colour),
            ("<image>What colour is the background?", picture.background, other.background),
        ):
            good = len(rows) % 3 != 2
            answer = right if good else wrong
            rows.append({
                "messages": [_turn("user", question), _turn("assistant", f"It is {answer}.")],
                "kto_tag": good,
                "images": [picture.path],
            })  # fmt: skip
    return rows


MLLM_INFO = {
    "file_name": "demo_mllm.json",
    "formatting": "sharegpt",
    "columns": {"messages": "messages", "images": "images"},
    "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"},
}
MLLM_DPO_INFO = {
    "file_name": "demo_mllm_dpo.json",
    "formatting": "sharegpt",
    "ranking": True,
    "columns": {"messages": "messages", "chosen": "chosen", "rejected": "rejected", "images": "images"},
    "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"},
}
MLLM_KTO_INFO = {
    "file_name": "demo_mllm_kto.json",
    "formatting": "sharegpt",
    "columns": {"messages": "messages", "kto_tag": "kto_tag", "images": "images"},
    "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"},
}
