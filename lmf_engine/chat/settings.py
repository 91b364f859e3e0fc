"""Generation settings: the config's ``generating`` group, a seed, stop strings, and per-request overrides.

Every back end takes the same keys; each maps them to its own parameters. Values are checked with the config's own
field types and ranges, so ``/set temperature=0.3`` in the REPL and ``temperature`` in an API request are validated
exactly like the YAML key.
"""

from collections.abc import Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from .errors import RequestError

if TYPE_CHECKING:
    from lmf_engine.config import Config

SEED = "seed"
STOP = "stop"
EXTRA_KEYS = (SEED, STOP)
"""Settings beyond the generating group: a sampling seed (None: unseeded) and stop strings."""


def generating_keys() -> tuple[str, ...]:
    """Every key a generation setting may have."""
    from lmf_engine.config.groups import field_index

    return (*(name for name, info in field_index().items() if info.group == "generating"), *EXTRA_KEYS)


def base_settings(config: "Config") -> dict[str, Any]:
    """The config's generating group, plus ``seed`` (the config's seed only when it sets one) and ``stop``."""
    settings = asdict(config.generating)
    settings[SEED] = config.training.seed if SEED in config.explicit else None
    settings[STOP] = None
    return settings


def _check_stop(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise RequestError("stop must be a non-empty string or a list of them", STOP)
    if len(value) > 4:
        raise RequestError("stop takes at most 4 strings", STOP)
    return list(value)


def check_setting(key: str, value: Any) -> Any:
    """``value`` converted and checked for ``key``; :class:`RequestError` naming the key when it does not fit."""
    from lmf_engine.config.fields import CoercionError, coerce
    from lmf_engine.config.groups import field_index

    if key == STOP:
        return _check_stop(value)
    if key == SEED:
        if value is None:
            return None
        try:
            return coerce(field_index()[SEED], value)
        except CoercionError as exc:
            raise RequestError(f"seed: {exc}", key) from None
    info = field_index().get(key)
    if info is None or info.group != "generating":
        from lmf_engine.util.suggest import did_you_mean

        hint = did_you_mean(key, generating_keys())
        suffix = f"; did you mean {' or '.join(hint)}?" if hint else ""
        raise RequestError(f"unknown generation setting {key!r}{suffix}", key)
    try:
        return coerce(info, value)
    except CoercionError as exc:
        raise RequestError(f"{key}: {exc} (got {value!r})", key) from None


def merge_settings(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with checked ``overrides`` applied; an override of None keeps the base value."""
    merged = dict(base)
    for key, value in overrides.items():
        if value is None:
            continue
        merged[key] = check_setting(key, value)
    return merged


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"key=value"`` (as ``/set`` takes it) to a checked ``(key, value)``; ``stop=a,b`` gives a list."""
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key:
        raise RequestError(f"expected key=value, got {text!r}")
    if key == STOP:
        return key, _check_stop([part for part in raw.split(",") if part] or None)
    return key, check_setting(key, raw)
