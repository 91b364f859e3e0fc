"""Pictures in the terminal with textual-image: the widget class the ``images`` setting names.

``auto`` uses Sixel or the Kitty graphics protocol when the terminal says it has them, else half-block characters
(two pixels per cell, in colour), which every terminal shows, over SSH and in tmux too. textual-image asks the
terminal once, when it is first imported: this module is imported with the Datasets screen, before the app starts
reading the keyboard. Its log goes nowhere unless the app configures logging (a terminal that does not answer is
normal, not a warning on the user's screen).
"""

import logging

from textual.widget import Widget

logging.getLogger("textual_image").addHandler(logging.NullHandler())

from textual_image.widget import HalfcellImage, SixelImage, TGPImage, UnicodeImage  # noqa: E402 (after the handler)
from textual_image.widget import Image as AutoImage  # noqa: E402

IMAGE_WIDGETS: dict[str, type[Widget]] = {
    "auto": AutoImage,
    "sixel": SixelImage,
    "kitty": TGPImage,
    "halfcell": HalfcellImage,
    "unicode": UnicodeImage,
}
"""Widget class per value of the ``images`` setting (:data:`lmf_tui.settings.IMAGE_RENDERERS`)."""
CELL_PIXELS = 20
"""Pixel rows of a terminal cell assumed when choosing how many rows a picture takes (the width follows its
aspect ratio, with the terminal's real cell size)."""


def image_rows(height_px: int, most: int) -> int:
    """Terminal rows for a picture ``height_px`` pixels high: its own height up to ``most`` rows, at least 2."""
    return max(2, min(most, -(-height_px // CELL_PIXELS)))
