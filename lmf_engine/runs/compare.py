"""Comparing runs: the config keys in which they differ, and one metric of each made ready to overlay, by step or
by tokens seen."""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from pathlib import Path
from typing import Any, Literal

from .run_config import config_default, read_run_config
from .series import Series

Axis = Literal["step", "tokens"]
IGNORED_KEYS = frozenset({"output_dir"})
"""Keys that differ between any two runs and say nothing about them."""
NO_TOKENS = "counts no tokens (include_num_input_tokens_seen is off)"


def _typed(key: str, value: Any) -> Any:
    """``value`` converted to the key's type when the config knows the key (``1e-4`` and ``0.0001`` compare equal)."""
    from lmf_engine.config import field_index
    from lmf_engine.config.fields import CoercionError, coerce

    info = field_index().get(key)
    if info is None:
        return value
    try:
        return coerce(info, value)
    except CoercionError:
        return value


def _key_order(keys: set[str]) -> list[str]:
    """Keys in the config's schema order, then the keys it does not know by name."""
    from lmf_engine.config import field_index

    known = [name for name in field_index() if name in keys]
    return known + sorted(keys - set(known))


def config_differences(run_dirs: list[Path]) -> list[tuple[str, list[Any]]]:
    """The config keys whose values differ between the runs, with each run's value, in a stable order.

    Each run's config is its config.yaml (or a LLaMA-Factory folder's training_args.yaml / llamafactory_cli.yaml);
    a key a run does not set counts as the key's default (None for a key the config does not know). output_dir is
    left out. Raises ``RunConfigError`` for a config file that is not a YAML mapping.
    """
    configs = [read_run_config(Path(path)) for path in run_dirs]
    keys = set().union(*configs) - IGNORED_KEYS if configs else set()
    differences = []
    for key in _key_order(keys):
        values = [_typed(key, config[key]) if key in config else config_default(key) for config in configs]
        if any(value != values[0] for value in values[1:]):
            differences.append((key, values))
    return differences


def _by_tokens(series: Series, tokens: Series) -> tuple[array, array]:
    """Each point of ``series`` at the tokens seen at its step (or the nearest step before it that counted)."""
    token_steps, token_values = tokens.steps, tokens.values
    if series.steps == token_steps:
        return array("d", token_values), array("d", series.values)
    start = bisect_left(series.steps, token_steps[0])
    xs = array("d", [token_values[bisect_right(token_steps, step) - 1] for step in series.steps[start:]])
    return xs, series.values[start:]


def aligned(
    series_by_run: dict[str, Series], tokens_by_run: dict[str, Series], x: Axis
) -> tuple[dict[str, tuple[array, array]], dict[str, str]]:
    """One metric of several runs ready to overlay: per run its (xs, ys), and the runs left out with the reason.

    With ``x="step"`` the xs are the optimizer steps; with ``x="tokens"`` each point's x is the tokens seen at its
    step, and a run that counts no tokens is left out. The arrays are copies: the series may grow meanwhile.
    """
    if x not in ("step", "tokens"):
        raise ValueError(f"x must be 'step' or 'tokens', got {x!r}")
    points: dict[str, tuple[array, array]] = {}
    left_out: dict[str, str] = {}
    for name, series in series_by_run.items():
        if not len(series):
            left_out[name] = f"no {series.name} values yet"
            continue
        if x == "step":
            points[name] = (array("d", series.steps), array("d", series.values))
            continue
        tokens = tokens_by_run.get(name)
        if tokens is None or not len(tokens):
            left_out[name] = NO_TOKENS
            continue
        xs, ys = _by_tokens(series, tokens)
        if xs:
            points[name] = (xs, ys)
        else:
            left_out[name] = f"no token count at or before the steps of {series.name}"
    return points, left_out
