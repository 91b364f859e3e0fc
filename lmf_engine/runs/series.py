"""One metric of a run over its optimizer steps, kept in two ``array('d')`` columns (8 bytes a point)."""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right


class Series:
    """A metric over steps: ``steps`` increasing, ``values`` alongside.

    A resumed run logs again from its checkpoint, so adding a point at a step that is not after the last one first
    drops the points at that step and after it. ``best`` is the smallest finite value, worked out when asked for
    over the points added since the last time.
    """

    __slots__ = ("_best", "_best_upto", "name", "steps", "values")

    def __init__(self, name: str) -> None:
        self.name = name
        self.steps = array("d")
        self.values = array("d")
        self._best: float | None = None
        self._best_upto = 0

    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        return f"Series({self.name!r}, {len(self)} points, last={self.last})"

    def append(self, step: float, value: float) -> None:
        """Add ``value`` at ``step``; a step at or before the last one first drops the points at ``>= step``."""
        steps = self.steps
        if steps and step <= steps[-1]:
            self.drop_from(step)
        steps.append(step)
        self.values.append(value)

    def extend(self, steps: array, values: array) -> None:
        """Add points whose ``steps`` are increasing; the first at or before the last step drops as :meth:`append`
        does."""
        if not steps:
            return
        if self.steps and steps[0] <= self.steps[-1]:
            self.drop_from(steps[0])
        self.steps.extend(steps)
        self.values.extend(values)

    def drop_from(self, step: float) -> None:
        """Drop the points at ``step`` and after it."""
        self._cut(bisect_left(self.steps, step))

    def drop_after(self, step: float) -> None:
        """Drop the points after ``step`` (a run resumed at ``step`` logs them again)."""
        self._cut(bisect_right(self.steps, step))

    def clear(self) -> None:
        """Drop every point."""
        self._cut(0)

    def _cut(self, index: int) -> None:
        if index >= len(self.steps):
            return
        del self.steps[index:]
        del self.values[index:]
        self._best, self._best_upto = None, 0

    @property
    def last(self) -> float | None:
        """The latest value, or None when empty."""
        return self.values[-1] if self.values else None

    @property
    def best(self) -> float | None:
        """The smallest finite value, or None when there is none."""
        if self._best_upto < len(self.values):
            low = min(filter(math.isfinite, self.values[self._best_upto :]), default=None)
            if low is not None and (self._best is None or low < self._best):
                self._best = low
            self._best_upto = len(self.values)
        return self._best
