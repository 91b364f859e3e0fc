"""Series made ready for a chart: min/max down-sampling to the chart's columns, and TensorBoard's smoothing.

Both are O(n) without numpy (the UI process stays light): :func:`minmax` finds each column's slice of the sorted x
values by bisection and takes its min and max with the built-ins, so a 100,000-point series costs a few milliseconds.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence


def _finite_slice(ys: Sequence[float], lo: int, hi: int) -> tuple[list[int], list[float]]:
    kept = [i for i in range(lo, hi) if math.isfinite(ys[i])]
    return kept, [ys[i] for i in kept]


def _column_extremes(ys: Sequence[float], lo: int, hi: int) -> list[int]:
    """The indices of the min and the max of ``ys[lo:hi]`` (finite values only), in index order."""
    part = ys[lo:hi]
    low, high = min(part), max(part)
    if math.isfinite(low) and math.isfinite(high):
        first, second = lo + part.index(low), lo + part.index(high)
    else:  # a NaN or an infinity in the column: look at the finite values only
        kept, values = _finite_slice(ys, lo, hi)
        if not kept:
            return []
        first, second = kept[values.index(min(values))], kept[values.index(max(values))]
    if first == second:
        return [first]
    return [first, second] if first < second else [second, first]


def minmax(
    xs: Sequence[float], ys: Sequence[float], width: int, x_range: tuple[float, float] | None = None
) -> tuple[list[float], list[float]]:
    """At most two points per column of a ``width``-column chart: the min and the max of each column, in x order.

    ``xs`` must be non-decreasing (a series' steps are). Columns split ``x_range`` (default: the first and last x)
    evenly; points outside it are left out, and so are non-finite y values. A series with no more than ``2 * width``
    points in range comes back whole.
    """
    if len(xs) != len(ys):
        raise ValueError(f"xs has {len(xs)} values and ys {len(ys)}")
    if not xs:
        return [], []
    start, end = x_range if x_range is not None else (xs[0], xs[-1])
    lo, hi = bisect_left(xs, start), bisect_right(xs, end)
    width = max(int(width), 1)
    if hi - lo <= 2 * width:
        kept, values = _finite_slice(ys, lo, hi)
        return [xs[i] for i in kept], values
    if end <= start:
        indices = _column_extremes(ys, lo, hi)
    else:
        span = (end - start) / width
        indices = []
        left = lo
        for column in range(1, width + 1):
            right = hi if column == width else bisect_left(xs, start + column * span, left, hi)
            if right > left:
                indices.extend(_column_extremes(ys, left, right))
            left = right
    return [xs[i] for i in indices], [ys[i] for i in indices]


def smooth(values: Sequence[float], weight: float) -> list[float]:
    """TensorBoard's debiased exponential moving average; ``weight`` 0 gives the values back unchanged.

    Non-finite values are passed through and do not enter the average (as TensorBoard does).
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    if weight == 0.0:
        return list(values)
    out: list[float] = []
    append = out.append
    isfinite = math.isfinite
    average = 0.0
    decay = 1.0
    rest = 1.0 - weight
    for value in values:
        if not isfinite(value):
            append(value)
            continue
        average = average * weight + rest * value
        decay *= weight
        append(average / (1.0 - decay))
    return out
