"""Texts cut for display: a string longer than N characters becomes its first N characters and ``… M more
characters`` (:class:`CutText`, which keeps the full length), and :class:`LazyJson` parses a JSON value that arrives
in chunks keeping only that much of each string, so that a huge cell never becomes a huge Python object.
"""

import json
import re
from collections.abc import Callable
from typing import Any

from .errors import TOO_DEEP

MAX_DEPTH = 200
"""Nesting a lazily parsed value may have (deeper is the one-line TOO_DEEP error)."""


class CutText(str):
    """A string cut for display: the first characters, then ``… N more characters``; ``total`` is its full length."""

    total: int

    def __new__(cls, kept: str, total: int) -> "CutText":
        text = super().__new__(cls, f"{kept}… {total - len(kept):,} more characters")
        text.total = total
        return text


def cut_text(text: str, keep: int) -> str:
    """``text`` as it is when it has at most ``keep`` characters, else a :class:`CutText`."""
    return text if len(text) <= keep or isinstance(text, CutText) else CutText(text[:keep], len(text))


def cut_value(value: Any, keep: int) -> Any:
    """``value`` with every string longer than ``keep`` characters cut (in lists and objects too)."""
    if isinstance(value, str):
        return cut_text(value, keep)
    if isinstance(value, dict):
        return {key: cut_value(item, keep) for key, item in value.items()}
    if isinstance(value, list):
        return [cut_value(item, keep) for item in value]
    return value


def cut_lengths(value: Any, path: str = "") -> dict[str, int]:
    """``{path: full length}`` of every :class:`CutText` in ``value`` (paths like ``conversations[1].value``)."""
    if isinstance(value, CutText):
        return {path: value.total}
    found: dict[str, int] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            found.update(cut_lengths(item, f"{path}.{key}" if path else str(key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.update(cut_lengths(item, f"{path}[{i}]"))
    return found


_SPECIAL = re.compile(r'["\\]')
_ESCAPE = re.compile(r'\\(u[0-9a-fA-F]{4}|["\\/bfnrt])')
_SCALAR = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?|true|false|null")


class LazyJson:
    """Parse one JSON value from text that arrives in chunks, keeping at most ``keep`` characters of each string.

    ``more()`` returns the next chunk ('' at the end). Memory stays at one chunk plus what is kept; the text of a
    long string is skipped with ``str.find``-speed searches. Raises ValueError (message, position) when invalid.
    """

    def __init__(self, text: str, pos: int, more: Callable[[], str], keep: int) -> None:
        self.buf, self.pos, self.more, self.keep = text, pos, more, keep
        self.consumed = 0  # characters dropped from the front of buf

    def _fill(self) -> bool:
        chunk = self.more()
        if not chunk:
            return False
        self.consumed += self.pos
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        return True

    def _need(self, n: int) -> None:
        while len(self.buf) - self.pos < n and self._fill():
            pass

    def _fail(self, what: str) -> ValueError:
        return ValueError(what, self.consumed + self.pos)

    def peek(self) -> str:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def value(self, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise ValueError(TOO_DEEP, self.consumed + self.pos)
        char = self.peek()
        if char == "{":
            return self._object(depth)
        if char == "[":
            return self._array(depth)
        if char == '"':
            return self._string()
        self._need(64)
        match = _SCALAR.match(self.buf, self.pos)
        if match is None:
            raise self._fail("Expecting value")
        self.pos = match.end()
        return json.loads(match.group())

    def _expect(self, char: str) -> None:
        if self.peek() != char:
            raise self._fail(f"Expecting {char!r}")
        self.pos += 1

    def _object(self, depth: int) -> dict[str, Any]:
        self.pos += 1
        result: dict[str, Any] = {}
        if self.peek() == "}":
            self.pos += 1
            return result
        while True:
            if self.peek() != '"':
                raise self._fail("Expecting property name enclosed in double quotes")
            key = str(self._string(1 << 62))  # keys whole
            self._expect(":")
            result[key] = self.value(depth + 1)
            char = self.peek()
            self.pos += 1
            if char == "}":
                return result
            if char != ",":
                self.pos -= 1
                raise self._fail("Expecting ',' delimiter")

    def _array(self, depth: int) -> list[Any]:
        self.pos += 1
        result: list[Any] = []
        if self.peek() == "]":
            self.pos += 1
            return result
        while True:
            result.append(self.value(depth + 1))
            char = self.peek()
            self.pos += 1
            if char == "]":
                return result
            if char != ",":
                self.pos -= 1
                raise self._fail("Expecting ',' delimiter")

    def _string(self, keep: int | None = None) -> str:
        keep = self.keep if keep is None else keep
        self.pos += 1
        kept: list[str] = []
        kept_len = total = 0
        while True:
            if self.pos >= len(self.buf) and not self._fill():
                raise self._fail("Unterminated string")
            if self.buf[self.pos] == '"':
                self.pos += 1
                break
            if self.buf[self.pos] == "\\":
                self._need(6)
                match = _ESCAPE.match(self.buf, self.pos)
                if match is None:
                    raise self._fail("Invalid \\escape")
                piece = json.loads(f'"{match.group()}"')
                self.pos = match.end()
            else:
                found = _SPECIAL.search(self.buf, self.pos)
                end = found.start() if found else len(self.buf)
                piece = self.buf[self.pos : end] if kept_len < keep else ""
                total += end - self.pos - len(piece)
                self.pos = end
            total += len(piece)
            if kept_len < keep and piece:
                kept.append(piece[: keep - kept_len])
                kept_len += len(kept[-1])
        text = "".join(kept)
        if any("\ud800" <= c <= "\udfff" for c in text):
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return CutText(text, total) if total > kept_len else text
