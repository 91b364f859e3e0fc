"""Token-length statistics of a dataset: histogram, percentiles, and how many rows ``cutoff_len`` truncates."""

import bisect
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .preview import Cancel

PERCENTILES = (50, 90, 95, 99)


@dataclass
class LengthStats:
    """Summary of token lengths. ``bins`` are ``(low, high, count)`` with ``low <= length < high``."""

    count: int
    min: int
    max: int
    mean: float
    percentiles: dict[int, int]
    cutoff_len: int | None
    truncated: int
    bins: list[tuple[int, int, int]] = field(default_factory=list)
    complete: bool = True

    @property
    def truncated_share(self) -> float:
        return self.truncated / self.count if self.count else 0.0


def length_stats(
    lengths: Iterable[int],
    cutoff_len: int | None = None,
    bins: int = 20,
    progress: Callable[[int], None] | None = None,
    cancel: Cancel | None = None,
    every: int = 1000,
) -> LengthStats:
    """Summarise ``lengths``; ``progress(n_done)`` is called every ``every`` rows; a cancel returns what was seen."""
    values: list[int] = []
    complete = True
    for value in lengths:
        values.append(value)
        if len(values) % every == 0:
            if progress is not None:
                progress(len(values))
            if cancel is not None and cancel.cancelled:
                complete = False
                break
    if progress is not None:
        progress(len(values))
    if not values:
        return LengthStats(0, 0, 0, 0.0, dict.fromkeys(PERCENTILES, 0), cutoff_len, 0, [], complete)
    values.sort()
    n = len(values)
    percentiles = {p: values[min(n - 1, max(0, math.ceil(p / 100 * n) - 1))] for p in PERCENTILES}
    truncated = n - bisect.bisect_right(values, cutoff_len) if cutoff_len is not None else 0
    return LengthStats(
        count=n,
        min=values[0],
        max=values[-1],
        mean=sum(values) / n,
        percentiles=percentiles,
        cutoff_len=cutoff_len,
        truncated=truncated,
        bins=_histogram(values, bins),
        complete=complete,
    )


def _histogram(sorted_values: list[int], bins: int) -> list[tuple[int, int, int]]:
    low, high = sorted_values[0], sorted_values[-1] + 1
    width = max(1, math.ceil((high - low) / bins))
    counts = [0] * math.ceil((high - low) / width)
    for value in sorted_values:
        counts[(value - low) // width] += 1
    return [(low + i * width, low + (i + 1) * width, c) for i, c in enumerate(counts)]
