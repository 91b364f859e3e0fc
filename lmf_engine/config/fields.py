"""Field metadata shared by every config group, and conversion of raw YAML/CLI values to field types."""

import dataclasses
import math
import types
import typing
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin

_META_KEY = "lmf"


@dataclass(frozen=True)
class Meta:
    """What a config field declares beyond its type and default."""

    help: str
    ge: float | None = None
    le: float | None = None
    gt: float | None = None
    lt: float | None = None
    advanced: bool = False


def opt(
    default: Any,
    help: str,
    *,
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
    lt: float | None = None,
    advanced: bool = False,
) -> Any:
    """Declare a config field: its default, help text, allowed range and whether the form folds it away."""
    meta = Meta(help=help, ge=ge, le=le, gt=gt, lt=lt, advanced=advanced)
    return dataclasses.field(default=default, metadata={_META_KEY: meta})


@dataclass(frozen=True)
class FieldInfo:
    """Everything the CLI, the schema and the TUI form need to know about one key."""

    name: str
    group: str
    annotation: Any
    default: Any
    meta: Meta

    @property
    def help(self) -> str:
        return self.meta.help

    @property
    def advanced(self) -> bool:
        return self.meta.advanced

    @property
    def choices(self) -> tuple[Any, ...] | None:
        """Allowed values when the type is a Literal, else None."""
        for arg in _flatten(self.annotation):
            if get_origin(arg) is Literal:
                return get_args(arg)
        return None

    @property
    def nullable(self) -> bool:
        return type(None) in _flatten(self.annotation)

    @property
    def type_name(self) -> str:
        """A short human name of the type, e.g. ``int | None`` or ``one of lora, freeze, full``."""
        names = []
        for arg in _flatten(self.annotation):
            if get_origin(arg) is Literal:
                names.append("one of " + ", ".join(str(c) for c in get_args(arg)))
            elif arg is type(None):
                names.append("null")
            else:
                names.append(getattr(arg, "__name__", str(arg)))
        return " | ".join(names)

    def range_text(self) -> str:
        """The allowed numeric range in words, or an empty string."""
        parts = []
        m = self.meta
        if m.ge is not None:
            parts.append(f">= {m.ge:g}")
        if m.gt is not None:
            parts.append(f"> {m.gt:g}")
        if m.le is not None:
            parts.append(f"<= {m.le:g}")
        if m.lt is not None:
            parts.append(f"< {m.lt:g}")
        return " and ".join(parts)


def _flatten(annotation: Any) -> tuple[Any, ...]:
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        out: list[Any] = []
        for arg in get_args(annotation):
            out.extend(_flatten(arg))
        return tuple(out)
    return (annotation,)


@cache
def group_fields(cls: type, group: str) -> tuple[FieldInfo, ...]:
    """The fields of one config group dataclass, in declaration order."""
    hints = typing.get_type_hints(cls)
    infos = []
    for f in dataclasses.fields(cls):
        infos.append(
            FieldInfo(
                name=f.name, group=group, annotation=hints[f.name], default=f.default, meta=f.metadata[_META_KEY]
            )
        )
    return tuple(infos)


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class CoercionError(ValueError):
    """A value that does not fit a field's type, range or choices; the message says what is allowed."""


def coerce(info: FieldInfo, value: Any) -> Any:
    """Convert ``value`` to the field's type, accepting the strings a command line or YAML 1.1 yields.

    ``1e-4`` (a string in YAML 1.1), ``"true"`` and ``"8"`` all convert as LLaMA-Factory's parser converts them.
    """
    errors = []
    for arg in _flatten(info.annotation):
        try:
            result = _coerce_one(arg, value)
        except CoercionError as exc:
            errors.append(str(exc))
            continue
        _check_range(info, result)
        return result
    allowed = info.type_name
    raise CoercionError(f"expected {allowed}" if len(errors) != 1 else errors[0])


def _coerce_one(arg: Any, value: Any) -> Any:
    if arg is type(None):
        if value is None or (isinstance(value, str) and value.strip().lower() in {"null", "none", "~"}):
            return None
        raise CoercionError("expected null")
    if get_origin(arg) is Literal:
        choices = get_args(arg)
        if isinstance(value, bool):
            # YAML 1.1 reads `no`, `off`, `yes`, `on` as booleans: map them back to the word the choices use.
            words = ("no", "off", "false") if not value else ("yes", "on", "true")
            match = [c for c in choices if isinstance(c, str) and c in words]
            if match:
                return match[0]
            raise CoercionError("expected one of " + ", ".join(str(c) for c in choices))
        if value in choices:
            return value
        for choice in choices:
            if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value) == str(choice):
                return choice
        raise CoercionError("expected one of " + ", ".join(str(c) for c in choices))
    if arg is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise CoercionError("expected true or false")
    if arg is int:
        if isinstance(value, bool):
            raise CoercionError("expected an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise CoercionError("expected an integer") from None
            if number.is_integer():
                return int(number)
        raise CoercionError("expected an integer")
    if arg is float:
        if isinstance(value, bool):
            raise CoercionError("expected a number")
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                raise CoercionError("expected a number") from None
        raise CoercionError("expected a number")
    if arg is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise CoercionError("expected a string")
    if arg is dict or get_origin(arg) is dict:
        if isinstance(value, dict):
            return value
        raise CoercionError("expected a mapping")
    if arg is list or get_origin(arg) is list:
        if isinstance(value, list):
            return [str(v) for v in value]
        raise CoercionError("expected a list")
    raise TypeError(f"unsupported field type {arg!r}")


INT64_MAX = 2**63 - 1
"""The largest whole number the trainer's libraries take (a step count or seed past it overflows in torch/numpy)."""


def _check_range(info: FieldInfo, value: Any) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return
    if isinstance(value, int) and not -INT64_MAX - 1 <= value <= INT64_MAX:
        raise CoercionError(f"must be a whole number from {-INT64_MAX - 1} to {INT64_MAX} (a 64-bit integer)")
    if isinstance(value, float) and not math.isfinite(value):
        raise CoercionError(f"must be a finite number, not {value}")
    m = info.meta
    ok = (
        (m.ge is None or value >= m.ge)
        and (m.gt is None or value > m.gt)
        and (m.le is None or value <= m.le)
        and (m.lt is None or value < m.lt)
    )
    if not ok:
        raise CoercionError(f"must be {info.range_text()}")
