"""Slots: the pieces a template formats a message into, and LLaMA-Factory's rules for filling them.

A slot sequence mixes literal text (with ``{{content}}`` / ``{{idx}}`` placeholders), a named token
(``{token = "<|im_start|>"}`` in TOML, always one id) and the tokenizer's bos/eos (``{special = "bos_token"}``), which
render to nothing when the tokenizer has no such token. Filled slots are "elements"; text elements are tokenized one
by one (never joined), so tokenization matches LLaMA-Factory's per-element ``tokenizer.encode``.
"""

import re
from dataclasses import dataclass
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{[a-zA-Z_][a-zA-Z0-9_]*\}\}")
SPECIAL_NAMES = ("bos_token", "eos_token")


@dataclass(frozen=True, slots=True)
class TokenRef:
    """One token by name; converted with ``tokenizer.convert_tokens_to_ids``."""

    token: str


@dataclass(frozen=True, slots=True)
class SpecialRef:
    """The tokenizer's ``bos_token`` or ``eos_token`` (skipped when the tokenizer has none)."""

    name: str


Element = str | TokenRef | SpecialRef
Slots = tuple[Element, ...]
BOS = SpecialRef("bos_token")
EOS = SpecialRef("eos_token")


class TemplateError(ValueError):
    """A template definition or a message that a template cannot format."""


def parse_slots(value: Any, where: str) -> Slots:
    """Read a TOML slot list: strings, ``{token = "..."}`` and ``{special = "bos_token" | "eos_token"}`` tables."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise TemplateError(f"{where}: expected a list of slots, got {type(value).__name__}")
    out: list[Element] = []
    for item in value:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and set(item) == {"token"} and isinstance(item["token"], str):
            out.append(TokenRef(item["token"]))
        elif isinstance(item, dict) and set(item) == {"special"} and item["special"] in SPECIAL_NAMES:
            out.append(SpecialRef(item["special"]))
        else:
            raise TemplateError(
                f'{where}: a slot is a string, {{token = "..."}} or {{special = "bos_token"|"eos_token"}}, '
                f"got {item!r}"
            )
    return tuple(out)


def has_placeholder(slots: Slots) -> bool:
    """True when a text slot holds a ``{{name}}`` placeholder."""
    return any(isinstance(s, str) and _PLACEHOLDER.search(s) for s in slots)


def check_string_slots(slots: Slots, where: str) -> None:
    """A formatting slot sequence needs a placeholder (LLaMA-Factory's StringFormatter rule)."""
    if not has_placeholder(slots):
        raise TemplateError(f"{where}: a placeholder such as {{{{content}}}} is required")


def check_empty_slots(slots: Slots, where: str) -> None:
    """A prefix slot sequence must not hold a placeholder (LLaMA-Factory's EmptyFormatter rule)."""
    if has_placeholder(slots):
        raise TemplateError(f"{where}: the prefix must not contain a placeholder")


def fill(slots: Slots, **values: str) -> list[Element]:
    """Fill placeholders as LLaMA-Factory's StringFormatter does.

    Each text slot gets ``{{name}}`` replaced once per value, in the order the values are given, so a value that
    itself contains a later placeholder (``{{idx}}`` inside user content) is filled too.
    """
    elements: list[Element] = []
    for slot in slots:
        if isinstance(slot, str):
            for name, value in values.items():
                if not isinstance(value, str):
                    raise TemplateError(f"Expected a string, got {value!r}")
                slot = slot.replace("{{" + name + "}}", value, 1)
        elements.append(slot)
    return elements
