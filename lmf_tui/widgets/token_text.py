"""Encoded sequences as coloured tokens, with each run of repeated media tokens folded into one mark
(``<|image_pad|> × 64``) that a click unfolds; a click on an unfolded run folds it again."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from textual import events
from textual.content import Content
from textual.widgets import Static

from lmf_engine.data.inspect import SequenceView, TokenRun

from ..token_content import sequence_content


@dataclass(frozen=True)
class TokenBlock:
    """One sequence to show: its heading (or none), its foldable runs and the token indexes a trap flags."""

    heading: Content | None
    sequence: SequenceView
    runs: tuple[TokenRun, ...] = ()
    flagged: frozenset[int] = frozenset()


class TokenText(Static):
    """Blocks of tokens; runs start folded. ``unfolded`` holds (block, run start) of the runs shown token by token."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.blocks: tuple[TokenBlock, ...] = ()
        self.show_ids = False
        self.unfolded: set[tuple[int, int]] = set()

    @property
    def runs(self) -> list[tuple[int, int]]:
        """(block, run start) of every foldable run shown."""
        return [(b, run.start) for b, block in enumerate(self.blocks) for run in block.runs]

    def show_blocks(self, blocks: Sequence[TokenBlock], show_ids: bool, keep_folds: bool = False) -> None:
        """Show ``blocks``; their runs folded, unless ``keep_folds`` (the same sample shown again)."""
        self.blocks, self.show_ids = tuple(blocks), show_ids
        self.unfolded = self.unfolded & set(self.runs) if keep_folds else set()
        self._draw()

    def show_message(self, text: str) -> None:
        self.blocks, self.unfolded = (), set()
        self.update(Content(text))

    def toggle_all(self) -> None:
        """Unfold every run when one is folded, else fold them all."""
        runs = set(self.runs)
        self.unfolded = set() if runs and runs <= self.unfolded else runs
        self._draw()

    def toggle_run(self, block: int, start: int) -> None:
        self.unfolded ^= {(block, start)}
        self._draw()

    def on_click(self, event: events.Click) -> None:
        fold = event.style.meta.get("token_run")
        if isinstance(fold, tuple) and len(fold) == 2:
            event.stop()
            self.toggle_run(*fold)

    def _draw(self) -> None:
        parts: list[Content] = []
        for b, block in enumerate(self.blocks):
            unfolded = {start for index, start in self.unfolded if index == b}
            body = sequence_content(block.sequence, self.show_ids, block.flagged, block.runs, unfolded, b)
            parts.extend([body] if block.heading is None else [block.heading, body])
        self.update(Content("\n\n").join(parts))
