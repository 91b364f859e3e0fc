"""Tool formats whose calls are XML-ish parameter lists: ``qwen3_5``, ``seed_oss``, ``minimax2``."""

import json
import re
from typing import Any

from .base import FunctionCall, ToolFormat, as_text, dumps, register_tool_format, unwrap_or_empty, unwrap_or_self

_PARAM_EQ = re.compile(r"<parameter=(.*?)>(.*?)</parameter>", re.DOTALL)
_QWEN35_CALL = re.compile(r"<tool_call>\s*<function=\s*([^\s<>]+)\s*(.*?)\s*</function>\s*</tool_call>", re.DOTALL)
_SEED_CALL = re.compile(
    r"<seed:tool_call>\s*<function=\s*([^\s<]+)\s*(.*?)\s*</function>\s*</seed:tool_call>", re.DOTALL
)
_MINIMAX2_BLOCK = re.compile(r"<minimax:tool_call>\s*(.+?)\s*</minimax:tool_call>", re.DOTALL)
_MINIMAX2_INVOKE = re.compile(r"<invoke name=\"(.*?)\">(.*?)</invoke>", re.DOTALL)
_MINIMAX2_PARAM = re.compile(r"<parameter name=\"(.*?)\">(.*?)</parameter>", re.DOTALL)

_QWEN35_PROMPT = (
    "\n\n# Tools\n\nYou have access to the following functions:\n\n<tools>{tool_text}"
    "\n</tools>\n\nIf you choose to call a function ONLY reply in the following format with NO suffix:\n\n"
    "<tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n</parameter>\n"
    "<parameter=example_parameter_2>\nThis is the value for the second parameter\nthat can span\nmultiple lines\n"
    "</parameter>\n</function>\n</tool_call>\n\n<IMPORTANT>\nReminder:\n"
    "- Function calls MUST follow the specified format: "
    "an inner <function=...></function> block must be nested within <tool_call></tool_call> XML tags\n"
    "- Required parameters MUST be specified\n"
    "- You may provide optional reasoning for your function call in natural language "
    "BEFORE the function call, but NOT after\n"
    "- If there is no function call available, answer the question like normal with your current knowledge "
    "and do not tell the user about function calls\n</IMPORTANT>"
)
_SEED_PROMPT = (
    "system\nYou are Doubao, a helpful AI assistant. You may call one or more functions to assist with the user query."
    "Tool List:\nYou are authorized to use the following tools (described in JSON Schema format). Before performing "
    "any task, you must decide how to call them based on the descriptions and parameters of these tools.{tool_text}\n"
    "工具调用请遵循如下格式:\n<seed:tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>value_1"
    "</parameter>\n<parameter=example_parameter_2>This is the value for the second parameter\nthat can span\nmultiple "
    "lines</parameter>\n</function>\n</seed:tool_call>\n"
)
_MINIMAX2_PROMPT = (
    "\n\n# Tools\n\nYou may call one or more tools to assist with the user query.\n"
    "Here are the tools available in JSONSchema format:\n\n<tools>\n{tool_text}</tools>\n\n"
    "When making tool calls, use XML format to invoke tools and pass parameters:\n"
    '\n<minimax:tool_call>\n<invoke name="tool-name-1">\n<parameter name="param-key-1">param-value-1</parameter>\n'
    '<parameter name="param-key-2">param-value-2</parameter>\n...\n</invoke>\n</minimax:tool_call>'
)


def _parse_params(pattern: re.Pattern[str], block: str, stripped_fallback: bool) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for key, raw in pattern.findall(block):
        try:
            args[key] = json.loads(raw.strip())
        except json.JSONDecodeError:
            args[key] = raw.strip() if stripped_fallback else raw
    return args


def _qwen35_tools(tools: list[dict[str, Any]]) -> str:
    return _QWEN35_PROMPT.replace("{tool_text}", "".join("\n" + dumps(unwrap_or_self(t)) for t in tools), 1)


def _qwen35_calls(calls: list[FunctionCall]) -> str:
    texts = []
    for name, arguments in calls:
        text = f"<tool_call>\n<function={name}>"
        for key, value in json.loads(arguments).items():
            text += f"\n<parameter={key}>\n{as_text(value)}\n</parameter>"
        texts.append(text + "\n</function>\n</tool_call>")
    return "\n".join(texts)


def _qwen35_extract(content: str) -> str | list[FunctionCall]:
    calls = []
    for name, block in _QWEN35_CALL.findall(content):
        args = _parse_params(_PARAM_EQ, block.strip(), stripped_fallback=True)
        calls.append(FunctionCall(name.strip(), dumps(args)))
    return calls if calls else content


def _seed_tools(tools: list[dict[str, Any]]) -> str:
    return _SEED_PROMPT.replace("{tool_text}", "\n" + dumps(tools), 1)


def _seed_calls(calls: list[FunctionCall]) -> str:
    texts = []
    for name, arguments in calls:
        text = "\n<seed:tool_call>\n<function=" + name
        for key, value in json.loads(arguments).items():
            text += "\n<parameter=" + key + ">" + as_text(value) + "</parameter>"
        texts.append(text + "\n</function>\n</seed:tool_call>")
    return "\n".join(texts)


def _seed_extract(content: str) -> str | list[FunctionCall]:
    calls = []
    for name, block in _SEED_CALL.findall(content):
        args = _parse_params(_PARAM_EQ, block.strip(), stripped_fallback=False)
        calls.append(FunctionCall(name.strip(), dumps(args)))
    return calls if calls else content


def _minimax2_tools(tools: list[dict[str, Any]]) -> str:
    tool_text = "".join("<tool>" + dumps(unwrap_or_empty(t)) + "</tool>\n" for t in tools)
    return _MINIMAX2_PROMPT.replace("{tool_text}", tool_text, 1)


def _minimax2_calls(calls: list[FunctionCall]) -> str:
    texts = []
    for name, arguments in calls:
        text = f'<invoke name="{name}">'
        for key, value in json.loads(arguments).items():
            text += f'\n<parameter name="{key}">' + as_text(value) + "</parameter>"
        texts.append(text + "\n</invoke>")
    return "\n".join(texts)


def _minimax2_extract(content: str) -> str | list[FunctionCall]:
    match = _MINIMAX2_BLOCK.search(content)
    if not match:
        return content
    calls = []
    for name, block in _MINIMAX2_INVOKE.findall(match.group(1)):
        args = _parse_params(_MINIMAX2_PARAM, block, stripped_fallback=False)
        calls.append(FunctionCall(name.strip(), dumps(args)))
    return calls


QWEN3_5 = register_tool_format(ToolFormat("qwen3_5", _qwen35_tools, _qwen35_calls, _qwen35_extract))
SEED_OSS = register_tool_format(ToolFormat("seed_oss", _seed_tools, _seed_calls, _seed_extract))
MINIMAX2 = register_tool_format(ToolFormat("minimax2", _minimax2_tools, _minimax2_calls, _minimax2_extract))
