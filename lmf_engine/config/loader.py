"""Merge defaults < file < overrides into a typed :class:`Config`, collecting every problem at once."""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..util.suggest import did_you_mean
from .errors import ConfigError, ConfigIssue
from .fields import CoercionError, coerce
from .groups import GROUP_CLASSES, Config, field_index, known_unsupported
from .launcher_files import launcher_file_message, launcher_kind
from .rules import RULES
from .source import RawValues, read_file, read_overrides

UNSUPPORTED_VALUES: dict[str, dict[Any, str]] = {
    "infer_backend": {
        "ktransformers": "the KTransformers back end is not supported yet; use huggingface, vllm or sglang",
    },
    "quantization_method": {
        name: "only bitsandbytes (bnb) on-the-fly quantization is supported; pre-quantized models load as they are"
        for name in ("gptq", "awq", "aqlm", "quanto", "eetq", "hqq", "mxfp4", "fp8")
    },
}

UNSUPPORTED_REASONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("mixture_of_depths",),
     "Mixture-of-Depths needs the mixture-of-depth package, and its latest release (1.2.0) cannot work with "
     "transformers 5: it imports TRANSFORMERS_CACHE, which transformers 5 removed, and calls decoder layers with "
     "the transformers 4 interface (past_key_value, tuple outputs); LLaMA-Factory 0.9.5 on transformers 5 fails "
     "to import it too"),
)  # fmt: skip


def _unsupported_reason(key: str) -> str:
    for prefixes, reason in UNSUPPORTED_REASONS:
        if key.startswith(prefixes):
            return f"LLaMA-Factory key that lmf workbench cannot honour: {reason}; remove it"
    return "LLaMA-Factory key that lmf workbench does not support yet; remove it"


def check_config(
    path: str | Path | None = None,
    overrides: Sequence[str] = (),
    values: Mapping[str, Any] | None = None,
) -> tuple[Config, list[ConfigIssue]]:
    """Build a config and return it with every problem found; invalid keys keep their defaults.

    ``values`` are raw key/value pairs applied between the file and the overrides (the TUI's form uses them).
    """
    raw = RawValues()
    if path is not None:
        read_file(Path(path), raw)
        kind = launcher_kind(raw.values)
        if kind is not None:
            return _build(RawValues())[0], [ConfigIssue("", launcher_file_message(kind, str(path)), str(path))]
    if values:
        for key, value in values.items():
            raw.set(key, value, "<form>", None)
    read_overrides(list(overrides), raw)
    return _build(raw)


def load_config(
    path: str | Path | None = None,
    overrides: Sequence[str] = (),
    values: Mapping[str, Any] | None = None,
) -> Config:
    """Like :func:`check_config`, but raise :class:`ConfigError` listing every problem when there is one."""
    config, issues = check_config(path, overrides, values)
    if issues:
        raise ConfigError(issues)
    return config


def _build(raw: RawValues) -> tuple[Config, list[ConfigIssue]]:
    index = field_index()
    issues = list(raw.issues)
    bad: set[str] = set()
    explicit: dict[str, Any] = {}
    per_group: dict[str, dict[str, Any]] = {group: {} for group in GROUP_CLASSES}

    def issue(key: str, message: str, value: Any = None, with_value: bool = True) -> None:
        source, line = raw.origins.get(key, (None, None))
        if with_value:
            issues.append(ConfigIssue(key, message, source, line, value))
        else:
            issues.append(ConfigIssue(key, message, source, line))

    for key, value in raw.values.items():
        info = index.get(key)
        if info is None:
            bad.add(key)
            if key in known_unsupported():
                issue(key, _unsupported_reason(key), with_value=False)
            else:
                hint = did_you_mean(key, index) or did_you_mean(key, known_unsupported())
                suffix = f"; did you mean {' or '.join(hint)}?" if hint else ""
                issue(key, "unknown key" + suffix, with_value=False)
            continue
        try:
            converted = coerce(info, value)
        except CoercionError as exc:
            bad.add(key)
            reason = UNSUPPORTED_VALUES.get(key, {}).get(value, str(exc)) if isinstance(value, str) else str(exc)
            issue(key, reason, value)
            continue
        per_group[info.group][key] = converted
        explicit[key] = converted

    config = Config(**{group: cls(**per_group[group]) for group, cls in GROUP_CLASSES.items()}, explicit=explicit)
    for rule in RULES:
        for keys, message in rule(config):
            if bad.intersection(keys):
                continue
            located = next((k for k in keys if k in raw.origins), keys[0])
            issue(located, message, with_value=False)
    issues.sort(key=lambda i: raw.order.get(i.key, -1))
    return config, issues
