"""Text that grows while a model writes it, cheap to repaint: a new layout only when it needs another line.

Textual lays out the whole screen whenever a widget's size may have changed (``refresh(layout=True)``, which
``Static.update`` and a growing ``Markdown`` both ask for). A streamed answer gets new text every 20 ms, and on a
CPU-bound model those layouts take their time from generation (the UI and the generating thread share the GIL).
This widget repaints itself alone while its text still fits the rows it has, and asks for a layout only when the
text needs more: it then takes ``ROWS_AHEAD`` rows at a time, and exactly its rows once the text is set whole.
"""

from typing import Any

from rich.cells import cell_len
from textual.content import Content
from textual.geometry import Size
from textual.widget import Widget

ROWS_AHEAD = 4
"""Rows laid out at a time while text streams in."""


class StreamText(Widget):
    """Plain text appended piece by piece (never markup); ``text`` is all of it."""

    DEFAULT_CSS = """
    StreamText { height: auto; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.text = ""
        self._rows = 0
        self._done_rows = 0
        self._done_at = 0
        self._width = 0
        self._exact = True

    def render(self) -> Content:
        return Content(self.text)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """The rows laid out for the text: while it grows, a few rows ahead of it (``ROWS_AHEAD``), so that the
        screen is laid out again only every few rows; exactly its rows once :meth:`replace` has set it whole."""
        if not self._exact:
            return self._rows
        return len(Content(self.text).wrap(max(1, width))) if self.text else 0

    def replace(self, text: str) -> None:
        """Show ``text`` instead (laid out again)."""
        self.text, self._rows, self._done_rows, self._done_at = text, 0, 0, 0
        self._rows, self._exact = self._count_rows(), True
        self.refresh(layout=True)

    def append(self, piece: str) -> None:
        """Add ``piece``; repaint, and lay out again only when the text takes more rows than before."""
        self.text += piece
        self._exact = False
        rows = self._count_rows()
        if rows > self._rows:
            self._rows = rows + ROWS_AHEAD - 1
            self.refresh(layout=True)
        else:
            self.refresh()

    def _count_rows(self) -> int:
        """Rows the text takes when wrapped at the current width; the lines before the last newline are wrapped
        once and their count kept, so each piece costs the wrapping of the last line only."""
        width = max(1, self.content_region.width or self.size.width or 80)
        if width != self._width:
            self._width, self._done_rows, self._done_at = width, 0, 0
        end = self.text.rfind("\n") + 1
        if end > self._done_at:
            self._done_rows += sum(_rows(line, width) for line in self.text[self._done_at : end - 1].split("\n"))
            self._done_at = end
        return self._done_rows + _rows(self.text[self._done_at :], width)


def _rows(line: str, width: int) -> int:
    """Rows one line (no newline) takes wrapped at ``width``, as the widget renders it."""
    return len(Content(line).wrap(width)) if cell_len(line) > width else 1
