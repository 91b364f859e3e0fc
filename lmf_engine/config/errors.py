"""Config problems: each names the key, the value, what is allowed, and where the key came from."""

from dataclasses import dataclass
from typing import Any

_NO_VALUE = object()
SHOWN_VALUE_CHARS = 120
"""How much of a value an error message quotes; the rest is counted, not printed."""


def quoted(value: Any) -> str:
    """``repr(value)``, cut to :data:`SHOWN_VALUE_CHARS` characters with the number of those left out."""
    text = repr(value)
    if len(text) <= SHOWN_VALUE_CHARS:
        return text
    return f"{text[:SHOWN_VALUE_CHARS]}… ({len(text) - SHOWN_VALUE_CHARS:,} more characters)"


def shown_key(key: str) -> str:
    """A key as it is, or quoted and cut when it would not print as one short line (a newline, a control character)."""
    return key if key.isprintable() and len(key) <= SHOWN_VALUE_CHARS else quoted(key)


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config: ``key`` (or ``""`` for the whole file), a message, and its source position."""

    key: str
    message: str
    source: str | None = None
    line: int | None = None
    value: Any = _NO_VALUE

    def __str__(self) -> str:
        where = self.source or "<config>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        what = shown_key(self.key)
        if self.value is not _NO_VALUE:
            what = f"{what}={quoted(self.value)}"
        return f"{where}: {what}: {self.message}" if what else f"{where}: {self.message}"


class ConfigError(Exception):
    """Raised with every problem of a config at once."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))
