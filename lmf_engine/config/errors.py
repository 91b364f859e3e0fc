"""Config problems: each names the key, the value, what is allowed, and where the key came from."""

from dataclasses import dataclass
from typing import Any

_NO_VALUE = object()


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
        what = self.key
        if self.value is not _NO_VALUE:
            what = f"{self.key}={self.value!r}"
        return f"{where}: {what}: {self.message}" if what else f"{where}: {self.message}"


class ConfigError(Exception):
    """Raised with every problem of a config at once."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))
