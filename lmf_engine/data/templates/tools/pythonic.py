"""Tool formats with function-call syntax: ``lfm2`` (Python calls) and ``gemma4`` (``call:name{k:v}``)."""

import ast
import json
import re
from typing import Any

from .base import FunctionCall, ToolFormat, dumps, register_tool_format, unwrap_or_self

_QUOTE = '<|"|>'
_GEMMA4_CALL = re.compile(r"<\|tool_call\>call:([^{\s]+)\{(.*?)\}<tool_call\|>", re.DOTALL)
_GEMMA4_STRING = re.compile(r"<\|\"\|\>(.*?)<\|\"\|\>", re.DOTALL)
_BARE_KEY = re.compile(r"(^|[{\s,])([A-Za-z_][A-Za-z0-9_]*)(\s*:)")


def _lfm2_tools(tools: list[dict[str, Any]]) -> str:
    return "List of tools: <|tool_list_start|>" + dumps([unwrap_or_self(t) for t in tools]) + "<|tool_list_end|>"


def _lfm2_calls(calls: list[FunctionCall]) -> str:
    texts = []
    for name, arguments in calls:
        parts = []
        for key, value in json.loads(arguments).items():
            parts.append(f'{key}="{value}"' if isinstance(value, str) else f"{key}={dumps(value)}")
        texts.append(f"{name}({', '.join(parts)})")
    return f"<|tool_call_start|>[{', '.join(texts)}]<|tool_call_end|>"


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Name):
        if node.id in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[node.id]
        raise ValueError(f"Unknown identifier: {node.id}")
    return ast.literal_eval(node)


def _lfm2_extract(content: str) -> str | list[FunctionCall]:
    start = content.find("<|tool_call_start|>")
    if start == -1:
        return content
    end = content.find("<|tool_call_end|>", start)
    if end == -1:
        return content
    try:
        tree = ast.parse(content[start + len("<|tool_call_start|>") : end].strip(), mode="eval")
    except SyntaxError:
        return content
    if isinstance(tree.body, ast.List):
        nodes = tree.body.elts
    elif isinstance(tree.body, ast.Call):
        nodes = [tree.body]
    else:
        return content
    calls = []
    for node in nodes:
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            return content
        args = {}
        for keyword in node.keywords:
            try:
                args[keyword.arg] = _literal(keyword.value)
            except (ValueError, SyntaxError):
                return content
        calls.append(FunctionCall(node.func.id, dumps(args)))
    return calls if calls else content


def _quoted(text: Any) -> str:
    return f"{_QUOTE}{text}{_QUOTE}"


def _gemma4_properties(properties: dict[str, Any]) -> str:
    parts = []
    for name, schema in properties.items():
        items = []
        if schema.get("description"):
            items.append(f"description:{_quoted(schema['description'])}")
        if schema.get("type"):
            items.append(f"type:{_quoted(str(schema['type']).upper())}")
        parts.append(f"{name}:{{{','.join(items)}}}")
    return ",".join(parts)


def _gemma4_tools(tools: list[dict[str, Any]]) -> str:
    declarations = []
    for tool in tools:
        data = unwrap_or_self(tool)
        text = f"declaration:{data['name']}{{description:{_quoted(data.get('description', ''))}"
        params = data.get("parameters")
        if params:
            parts = []
            if params.get("properties"):
                parts.append(f"properties:{{{_gemma4_properties(params['properties'])}}}")
            if params.get("required"):
                parts.append(f"required:[{','.join(_quoted(item) for item in params['required'])}]")
            if params.get("type"):
                parts.append(f"type:{_quoted(str(params['type']).upper())}")
            text += f",parameters:{{{','.join(parts)}}}"
        response = data.get("response")
        if response:
            parts = []
            if response.get("description"):
                parts.append(f"description:{_quoted(response['description'])}")
            if str(response.get("type", "")).upper() == "OBJECT":
                parts.append(f"type:{_quoted('OBJECT')}")
            text += f",response:{{{','.join(parts)}}}"
        declarations.append(text + "}")
    return "\n".join(declarations)


def _gemma4_value(value: Any, escape_keys: bool = True) -> str:
    if isinstance(value, str):
        return _quoted(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        items = []
        for key in sorted(value.keys()):
            shown = _quoted(key) if escape_keys else str(key)
            items.append(f"{shown}:{_gemma4_value(value[key], escape_keys=escape_keys)}")
        return "{" + ",".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_gemma4_value(item, escape_keys=escape_keys) for item in value) + "]"
    if value is None:
        return "null"
    return str(value)


def _gemma4_calls(calls: list[FunctionCall]) -> str:
    texts = []
    for name, raw in calls:
        try:
            parsed = json.loads(raw)
        except (TypeError, json.JSONDecodeError):
            parsed = raw
        text = f"<|tool_call>call:{name}{{"
        if isinstance(parsed, dict):
            text += ",".join(f"{key}:{_gemma4_value(parsed[key], escape_keys=False)}" for key in sorted(parsed.keys()))
        elif isinstance(parsed, str):
            text += parsed
        else:
            text += _gemma4_value(parsed, escape_keys=False)
        texts.append(text + "}<tool_call|>")
    return "".join(texts)


def _gemma4_arguments(arg_text: str) -> Any:
    text = arg_text.strip()
    if not text:
        return {}
    normalized = _GEMMA4_STRING.sub(lambda m: dumps(m.group(1)), "{" + text + "}")
    normalized = _BARE_KEY.sub(r'\1"\2"\3', normalized)
    for candidate in (normalized, text):
        try:
            return json.loads(candidate)
        except json.JSONDecodeError:
            pass
    return text


def _gemma4_extract(content: str) -> str | list[FunctionCall]:
    found = _GEMMA4_CALL.findall(content)
    if not found:
        return content
    calls = []
    for name, block in found:
        parsed = _gemma4_arguments(block)
        calls.append(FunctionCall(name.strip(), parsed if isinstance(parsed, str) else dumps(parsed)))
    return calls


LFM2 = register_tool_format(ToolFormat("lfm2", _lfm2_tools, _lfm2_calls, _lfm2_extract))
GEMMA4 = register_tool_format(ToolFormat("gemma4", _gemma4_tools, _gemma4_calls, _gemma4_extract))
