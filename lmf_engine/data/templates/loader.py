"""Read template definitions from TOML files (stdlib ``tomllib``) into :class:`Template` objects.

A file holds one table per template, named as LLaMA-Factory names it. ``extends = "other"`` starts from another
template's table (in any file) and overrides keys. Unset slots get LLaMA-Factory's defaults: user and system
``{{content}}``; assistant ``{{content}}`` + eos (just ``{{content}}`` with ``efficient_eos``); function the assistant
slots; observation the user slots; no prefix.
"""

import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .slots import EOS, TemplateError, check_empty_slots, check_string_slots, parse_slots
from .template import MEDIA_TOKEN_KEYS, MediaTokens, Template
from .tools import get_tool_format

SLOT_KEYS = ("format_user", "format_assistant", "format_system", "format_function", "format_observation")
KEYS = {
    *SLOT_KEYS,
    "extends",
    "format_prefix",
    "format_tools",
    "default_system",
    "stop_words",
    "thought_words",
    "tool_call_words",
    "efficient_eos",
    "replace_eos",
    "replace_jinja_template",
    "enable_thinking",
    "preserve_thinking",
    "system_style",
    "reasoning",
    "multimodal",
    "media_tokens",
    "description",
}
_BOOL_KEYS = ("efficient_eos", "replace_eos", "replace_jinja_template", "preserve_thinking")


def read_definitions(path: Path) -> dict[str, dict[str, Any]]:
    """The raw template tables of one TOML file (each tagged with its source file)."""
    with path.open("rb") as fh:
        try:
            data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as err:
            raise TemplateError(f"{path}: {err}") from err
    out: dict[str, dict[str, Any]] = {}
    for name, table in data.items():
        if not isinstance(table, dict):
            raise TemplateError(f"{path}: top-level key {name!r} must be a table [name]")
        unknown = sorted(set(table) - KEYS)
        if unknown:
            raise TemplateError(f"{path}: [{name}] has unknown key(s) {', '.join(unknown)}")
        out[name] = {**table, "_source": str(path)}
    return out


def resolve(name: str, tables: Mapping[str, dict[str, Any]], _seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """The table of ``name`` with its ``extends`` chain merged in (child keys win)."""
    if name in _seen:
        raise TemplateError(f"template {name!r}: circular extends ({' -> '.join((*_seen, name))})")
    if name not in tables:
        raise TemplateError(f"template {name!r} is not defined")
    table = tables[name]
    parent = table.get("extends")
    if parent is None:
        return dict(table)
    merged = resolve(parent, tables, (*_seen, name))
    merged.update({k: v for k, v in table.items() if k != "extends"})
    return merged


def _words(raw: Mapping[str, Any], key: str, default: tuple[str, str], where: str) -> tuple[str, str]:
    value = raw.get(key, default)
    if not (isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise TemplateError(f"{where}: {key} must be two strings")
    return (value[0], value[1])


def build(name: str, raw: Mapping[str, Any]) -> Template:
    """A :class:`Template` from a resolved table, with LLaMA-Factory's defaults for what is unset."""
    where = f"{raw.get('_source', '<memory>')} [{name}]"
    for key in _BOOL_KEYS:
        if not isinstance(raw.get(key, False), bool):
            raise TemplateError(f"{where}: {key} must be true or false")
    efficient_eos = raw.get("efficient_eos", False)
    default_slots = ("{{content}}",) if efficient_eos else ("{{content}}", EOS)
    slots = {key: parse_slots(raw[key], f"{where} {key}") for key in SLOT_KEYS if key in raw}
    user = slots.get("format_user", ("{{content}}",))
    assistant = slots.get("format_assistant", default_slots)
    values: dict[str, Any] = {
        "format_user": user,
        "format_assistant": assistant,
        "format_system": slots.get("format_system", ("{{content}}",)),
        "format_function": slots.get("format_function", assistant),
        "format_observation": slots.get("format_observation", user),
        "format_prefix": parse_slots(raw.get("format_prefix", []), f"{where} format_prefix"),
    }
    for key in SLOT_KEYS:
        check_string_slots(values[key], f"{where} {key}")
    check_empty_slots(values["format_prefix"], f"{where} format_prefix")
    tools = raw.get("format_tools", "default")
    tools_slots = None
    if isinstance(tools, str):
        tool_format = tools
    else:
        tool_format = "default"
        tools_slots = parse_slots(tools, f"{where} format_tools")
        check_string_slots(tools_slots, f"{where} format_tools")
    try:
        get_tool_format(tool_format)
    except ValueError as err:
        raise TemplateError(f"{where}: {err}") from err
    system_style = raw.get("system_style", "separate")
    reasoning = raw.get("reasoning", "none")
    if system_style not in ("separate", "merged"):
        raise TemplateError(f"{where}: system_style must be 'separate' or 'merged', got {system_style!r}")
    if reasoning not in ("none", "think", "think_close_only"):
        raise TemplateError(f"{where}: reasoning must be 'none', 'think' or 'think_close_only', got {reasoning!r}")
    stop_words = raw.get("stop_words", [])
    if not (isinstance(stop_words, list) and all(isinstance(w, str) for w in stop_words)):
        raise TemplateError(f"{where}: stop_words must be a list of strings")
    enable_thinking = raw.get("enable_thinking", True)
    return Template(
        name=name,
        **values,
        tool_format=tool_format,
        tools_slots=tools_slots,
        default_system=str(raw.get("default_system", "")),
        stop_words=tuple(stop_words),
        thought_words=_words(raw, "thought_words", ("<think>\n", "\n</think>\n\n"), where),
        tool_call_words=_words(raw, "tool_call_words", ("<tool_call>", "</tool_call>"), where),
        efficient_eos=efficient_eos,
        replace_eos=raw.get("replace_eos", False),
        replace_jinja_template=raw.get("replace_jinja_template", False),
        enable_thinking=None if enable_thinking is None else bool(enable_thinking),
        preserve_thinking=raw.get("preserve_thinking", False),
        system_style=system_style,
        reasoning=reasoning,
        multimodal=raw.get("multimodal"),
        media_tokens=_media_tokens(raw.get("media_tokens", {}), where),
        source=str(raw.get("_source", "")),
    )


def _media_tokens(raw: Any, where: str) -> MediaTokens:
    if not isinstance(raw, dict):
        raise TemplateError(f"{where}: media_tokens must be a table of strings")
    unknown = sorted(set(raw) - set(MEDIA_TOKEN_KEYS))
    if unknown:
        raise TemplateError(f"{where}: media_tokens has unknown key(s) {', '.join(unknown)}")
    if not all(isinstance(value, str) and value for value in raw.values()):
        raise TemplateError(f"{where}: media_tokens values must be non-empty strings")
    return MediaTokens(**raw)


def load_files(paths: Iterable[Path], base: Mapping[str, dict[str, Any]] | None = None) -> dict[str, Template]:
    """Every template defined in ``paths`` (``extends`` may also name a table in ``base``)."""
    tables: dict[str, dict[str, Any]] = dict(base or {})
    own: list[str] = []
    for path in paths:
        for name, table in read_definitions(path).items():
            if name in own:
                raise TemplateError(f"{path}: template {name!r} is defined twice")
            own.append(name)
            tables[name] = table
    return {name: build(name, resolve(name, tables)) for name in own}
