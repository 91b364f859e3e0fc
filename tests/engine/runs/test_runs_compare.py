"""Comparing runs (config differences, aligned series), series, down-sampling and smoothing."""

import math
from array import array
from bisect import bisect_left, bisect_right
from itertools import pairwise
from pathlib import Path

import pytest
from fixtures.fake_runs import write_fake_lf_run, write_fake_run
from hypothesis import given
from hypothesis import strategies as st

from lmf_engine.config import field_index
from lmf_engine.runs.compare import NO_TOKENS, aligned, config_differences
from lmf_engine.runs.downsample import minmax, smooth
from lmf_engine.runs.history import RunHistory
from lmf_engine.runs.series import Series


def value_at(series: Series, step: float) -> float:
    """The value at ``step``, else at the nearest step before it."""
    return series.values[bisect_right(series.steps, step) - 1]


def _series(name: str, steps: list[float], values: list[float]) -> Series:
    series = Series(name)
    for step, value in zip(steps, values, strict=True):
        series.append(step, value)
    return series


# --- Series ----------------------------------------------------------------------------------------------------


def test_a_series_rewinds_when_a_step_comes_again() -> None:
    series = _series("loss", [1, 2, 3, 4], [4.0, 3.0, 1.0, 2.0])
    assert (series.last, series.best, len(series)) == (2.0, 1.0, 4)
    series.append(3, 5.0)
    assert list(series.steps) == [1, 2, 3] and list(series.values) == [4.0, 3.0, 5.0]
    assert series.best == 3.0
    series.extend(array("d", [2, 3]), array("d", [0.5, 6.0]))
    assert list(series.values) == [4.0, 0.5, 6.0] and series.best == 0.5
    series.drop_after(1)
    assert list(series.steps) == [1] and series.best == 4.0
    series.append(2, math.nan)
    assert series.best == 4.0 and math.isnan(series.last)
    series.clear()
    assert (len(series), series.last, series.best) == (0, None, None)


# --- down-sampling and smoothing -------------------------------------------------------------------------------


def _buckets(xs: list[float], width: int, start: float, end: float) -> list[range]:
    span = (end - start) / width
    bounds = [0] + [bisect_left(xs, start + column * span) for column in range(1, width)] + [len(xs)]
    return [range(lo, hi) for lo, hi in pairwise(bounds) if hi > lo]


@given(
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=400),
    st.integers(1, 60),
)
def test_minmax_keeps_each_columns_min_and_max_in_x_order(ys: list[float], width: int) -> None:
    xs = [float(i // 2) for i in range(len(ys))]  # repeated x values too
    out_x, out_y = minmax(xs, ys, width)
    assert len(out_x) == len(out_y) <= 2 * width or len(ys) <= 2 * width
    assert out_x == sorted(out_x)
    if len(ys) <= 2 * width:
        assert (out_x, out_y) == (xs, ys)
        return
    kept = set(zip(out_x, out_y, strict=True))
    for bucket in _buckets(xs, width, xs[0], xs[-1]):
        values = [ys[i] for i in bucket]
        lowest, highest = values.index(min(values)), values.index(max(values))
        assert (xs[bucket[lowest]], ys[bucket[lowest]]) in kept
        assert (xs[bucket[highest]], ys[bucket[highest]]) in kept


def test_minmax_of_a_long_series_fits_the_width_and_skips_what_cannot_be_drawn() -> None:
    steps = array("d", range(100_000))
    values = array("d", (math.sin(i / 500) for i in range(100_000)))
    values[10] = math.nan
    values[20] = math.inf
    xs, ys = minmax(steps, values, 80)
    assert len(xs) <= 160 and all(math.isfinite(y) for y in ys)
    assert max(ys) == max(v for v in values if math.isfinite(v))
    xs, ys = minmax(steps, values, 80, x_range=(50_000.0, 200_000.0))
    assert xs[0] >= 50_000 and len(xs) <= 160
    assert minmax([], [], 10) == ([], [])
    assert minmax([1.0, 1.0, 1.0], [3.0, 1.0, 2.0], 1) == ([1.0, 1.0], [3.0, 1.0])
    with pytest.raises(ValueError):
        minmax([1.0], [], 3)


def test_smoothing_is_tensorboards_debiased_average() -> None:
    values = [1.0, 3.0, math.nan, 2.0, 8.0]
    assert smooth([1.0, 3.0, -2.0, 8.0], 0.0) == [1.0, 3.0, -2.0, 8.0]
    assert smooth([5.0] * 10, 0.9) == pytest.approx([5.0] * 10)
    expected, average, count = [], 0.0, 0
    for value in values:
        if math.isnan(value):
            expected.append(value)
            continue
        average = average * 0.6 + 0.4 * value
        count += 1
        expected.append(average / (1 - 0.6**count))
    result = smooth(values, 0.6)
    assert result[:2] + result[3:] == pytest.approx(expected[:2] + expected[3:]) and math.isnan(result[2])
    with pytest.raises(ValueError):
        smooth(values, 1.0)


# --- config differences ----------------------------------------------------------------------------------------


def test_config_differences_name_the_keys_that_differ_with_defaults_for_missing_ones(tmp_path: Path) -> None:
    a = write_fake_run(tmp_path / "a", 2, learning_rate=1e-4, seed=1)
    b = write_fake_run(tmp_path / "b", 2, learning_rate=2e-4, seed=1, finetuning_type="full")
    lf = write_fake_lf_run(tmp_path / "lf", 2, learning_rate=1e-4, seed=1, logging_steps=1)
    text = (lf / "training_args.yaml").read_text()
    lines = [line for line in text.splitlines() if not line.startswith(("lora_rank", "bf16"))]
    lines.append("my_note: hello")
    (lf / "training_args.yaml").write_text("\n".join(lines).replace("learning_rate: 0.0001", "learning_rate: 1e-4"))
    differences = dict(config_differences([a, b, lf]))
    assert differences["learning_rate"] == [1e-4, 2e-4, 1e-4]  # "1e-4" is a string to YAML 1.1: compared as a number
    assert differences["finetuning_type"] == ["lora", "full", "lora"]
    assert "lora_rank" not in differences  # b and lf set none: the default, 8, as a sets
    assert differences["bf16"] == [True, True, field_index()["bf16"].default]
    assert differences["include_num_input_tokens_seen"] == [True, True, False]
    assert differences["my_note"] == [None, None, "hello"]
    assert "output_dir" not in differences and "seed" not in differences and "stage" not in differences
    keys = [key for key, _ in config_differences([a, b, lf])]
    order = list(field_index())
    assert keys[-1] == "my_note" and keys[:-1] == sorted(keys[:-1], key=order.index)
    assert config_differences([a]) == [] and config_differences([]) == []


# --- aligned series --------------------------------------------------------------------------------------------


def test_aligned_by_step_and_by_tokens(tmp_path: Path) -> None:
    every = RunHistory(write_fake_run(tmp_path / "every", 30))
    tenth = RunHistory(write_fake_run(tmp_path / "tenth", 30, logging_steps=10, seed=2))
    blind = RunHistory(write_fake_run(tmp_path / "blind", 30, with_tokens=False, seed=3))
    for history in (every, tenth, blind):
        history.refresh()
    histories = {"every": every, "tenth": tenth, "blind": blind}
    series = {name: h.series["loss"] for name, h in histories.items()}
    tokens = {name: h.tokens for name, h in histories.items()}
    points, left_out = aligned(series, tokens, "step")
    assert left_out == {} and list(points["tenth"][0]) == [10, 20, 30]
    assert points["every"][1] == every.series["loss"].values and points["every"][1] is not every.series["loss"].values
    points, left_out = aligned(series, tokens, "tokens")
    assert left_out == {"blind": NO_TOKENS}
    assert list(points["every"][0]) == list(every.tokens.values)
    assert list(points["tenth"][0]) == [value_at(tenth.tokens, step) for step in (10, 20, 30)]
    assert list(points["tenth"][1]) == list(tenth.series["loss"].values)
    empty = {"every": Series("eval_loss")}
    assert aligned(empty, tokens, "step") == ({}, {"every": "no eval_loss values yet"})
    late = _series("tokens", [5, 6], [50.0, 60.0])
    points, left_out = aligned({"x": _series("loss", [1, 2], [1.0, 2.0])}, {"x": late}, "tokens")
    assert points == {} and "no token count" in left_out["x"]
    points, _ = aligned({"x": _series("loss", [4, 5, 7], [1.0, 2.0, 3.0])}, {"x": late}, "tokens")
    assert list(points["x"][0]) == [50.0, 60.0] and list(points["x"][1]) == [2.0, 3.0]
    with pytest.raises(ValueError):
        aligned(series, tokens, "time")  # type: ignore[arg-type]
