"""Token-length statistics."""

from lmf_engine.data.preview import Cancel
from lmf_engine.data.stats import length_stats


def test_percentiles_truncation_and_histogram() -> None:
    stats = length_stats(range(1, 101), cutoff_len=90, bins=10)
    assert (stats.count, stats.min, stats.max, stats.mean) == (100, 1, 100, 50.5)
    assert stats.percentiles == {50: 50, 90: 90, 95: 95, 99: 99}
    assert stats.truncated == 10 and stats.truncated_share == 0.1
    assert sum(c for _, _, c in stats.bins) == 100
    assert stats.bins[0] == (1, 11, 10)
    assert all(high - low == 10 for low, high, _ in stats.bins)


def test_single_value_and_empty() -> None:
    stats = length_stats([7, 7, 7])
    assert stats.bins == [(7, 8, 3)] and stats.truncated == 0
    empty = length_stats([])
    assert empty.count == 0 and empty.bins == []


def test_progress_and_cancel() -> None:
    seen: list[int] = []
    cancel = Cancel.new()

    def lengths():
        for i in range(10_000):
            if i == 2500:
                cancel.set()
            yield i

    stats = length_stats(lengths(), progress=seen.append, cancel=cancel, every=1000)
    assert not stats.complete
    assert stats.count == 3000
    assert seen[:3] == [1000, 2000, 3000]
