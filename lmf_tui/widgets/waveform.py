"""An audio file's loudness as one line of ``▁▂▃▄▅▆▇█``, redrawn to the width it has."""

from collections.abc import Sequence
from typing import Any

from textual.content import Content
from textual.widget import Widget

from lmf_engine.data.media_info import waveform


class Waveform(Widget):
    """The peak envelope of an audio file (values in [0, 1]), one character per column at any width."""

    DEFAULT_CSS = """
    Waveform { height: 1; width: 1fr; color: $accent; }
    """

    def __init__(self, envelope: Sequence[float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.envelope = tuple(envelope)

    def render(self) -> Content:
        return Content(waveform(self.envelope, self.content_size.width) or "(no samples)")
