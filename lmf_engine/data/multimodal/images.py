"""Images as LLaMA-Factory's plugins see them: the size after its regularization, read from the file's header.

LLaMA-Factory 0.9.5 decodes and resizes every image (and runs the model's image processor) just to count the tokens
an ``<image>`` placeholder becomes. The count depends only on the image's size, which PIL reads from the header
without decoding the pixels; :func:`regularized_size` repeats LLaMA-Factory's resize arithmetic on it. The pixels
are decoded when a training batch is built (:func:`load_image`), with the same resizes in the same order.
"""

import math
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from PIL.Image import Image

Size = tuple[int, int]


def header_size(image: "str | Image") -> Size:
    """(width, height) of the image file at ``image`` (from its header), or of an image in memory."""
    from PIL import Image

    if not isinstance(image, str):
        return image.size
    with Image.open(image) as opened:
        return opened.size


def picture_problem(path: "str | Path") -> str | None:
    """Why the file at ``path`` cannot be sent as a picture (None: it can)."""
    from PIL import UnidentifiedImageError

    if not os.path.isfile(path):
        return f"no file {path}"
    try:
        header_size(str(path))
    except (OSError, UnidentifiedImageError) as exc:
        return f"{path} is not a picture: {exc}"
    return None


def _scaled(width: int, height: int, target: int) -> Size:
    factor = math.sqrt(target / (width * height))
    return int(width * factor), int(height * factor)


def _base_steps(size: Size, max_pixels: int, min_pixels: int) -> list[Size]:
    """The resizes of LLaMA-Factory's ``_preprocess_image``: down to ``max_pixels``, then up to ``min_pixels``."""
    steps = []
    if size[0] * size[1] > max_pixels:
        size = _scaled(*size, max_pixels)
        steps.append(size)
    if size[0] * size[1] < min_pixels:
        size = _scaled(*size, min_pixels)
        steps.append(size)
    return steps


def _qwen_steps(size: Size) -> list[Size]:
    """Qwen-VL's extra resizes: sides under 28 pixels widened, aspect ratios over 200 clamped to 180."""
    steps = []
    width, height = size
    if min(width, height) < 28:
        width, height = max(width, 28), max(height, 28)
        steps.append((width, height))
    if width / height > 200:
        width = height * 180
        steps.append((width, height))
    if height / width > 200:
        height = width * 180
        steps.append((width, height))
    return steps


def regularized_size(size: Size, max_pixels: int, min_pixels: int, qwen: bool = False) -> Size:
    """The size LLaMA-Factory's plugins give an image of ``size`` (width, height) before the image processor."""
    steps = _base_steps(size, max_pixels, min_pixels)
    size = steps[-1] if steps else size
    if qwen:
        steps = _qwen_steps(size)
        size = steps[-1] if steps else size
    return size


def load_image(source: "str | Image", max_pixels: int, min_pixels: int, qwen: bool = False) -> "Image":
    """The image at ``source`` (or ``source`` itself) decoded, resized and converted to RGB as LLaMA-Factory's
    plugins do it."""
    from PIL import Image

    if isinstance(source, str):
        image = Image.open(source)
        image.load()  # decodes now, and closes the file
    else:
        image = source
    for size in _base_steps(image.size, max_pixels, min_pixels):
        image = image.resize(size)
    if image.mode != "RGB":
        image = image.convert("RGB")
    if qwen:
        for size in _qwen_steps(image.size):
            image = image.resize(size)
    return image
