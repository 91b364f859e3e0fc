"""JSON Schema of the config, built from the typed groups' field metadata."""

from typing import Any, Literal, get_args, get_origin

from .fields import FieldInfo, _flatten
from .groups import GROUP_CLASSES, all_fields, known_unsupported

_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", dict: "object", list: "array"}


def field_schema(info: FieldInfo) -> dict[str, Any]:
    """The JSON Schema of one key, with ``x-group`` and ``x-advanced`` for form builders."""
    types: list[str] = []
    enum: list[Any] = []
    for arg in _flatten(info.annotation):
        if get_origin(arg) is Literal:
            enum.extend(get_args(arg))
            types.extend(_JSON_TYPES[type(c)] for c in get_args(arg))
        elif arg is type(None):
            types.append("null")
            enum.append(None)
        else:
            types.append(_JSON_TYPES[get_origin(arg) or arg])
    unique = list(dict.fromkeys(types))
    schema: dict[str, Any] = {"type": unique[0] if len(unique) == 1 else unique, "description": info.help}
    if info.choices is not None:
        schema["enum"] = list(dict.fromkeys(enum))
    schema["default"] = info.default
    m = info.meta
    for key, bound in (("minimum", m.ge), ("exclusiveMinimum", m.gt), ("maximum", m.le), ("exclusiveMaximum", m.lt)):
        if bound is not None:
            schema[key] = bound
    schema["x-group"] = info.group
    schema["x-advanced"] = info.advanced
    return schema


def config_schema() -> dict[str, Any]:
    """The whole config as one flat JSON Schema object, keys in group order."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "lmf workbench config",
        "description": "LLaMA-Factory-compatible training, inference and export config (flat keys).",
        "type": "object",
        "additionalProperties": False,
        "properties": {info.name: field_schema(info) for info in all_fields()},
        "x-groups": list(GROUP_CLASSES),
        "x-known-unsupported": sorted(known_unsupported()),
    }
