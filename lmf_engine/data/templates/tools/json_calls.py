"""Tool formats with JSON calls: ``qwen``, ``ling``, ``glm4_moe``, ``llama3``, ``mistral``, ``minimax1``."""

import json
import re
from typing import Any

from . import base
from .base import FunctionCall, ToolFormat, dumps, register_tool_format, unwrap_or_empty, wrap

_QWEN_CALL = re.compile(r"<tool_call>(.+?)</tool_call>(?=\s*<tool_call>|\s*$)", re.DOTALL)
_MINIMAX1_CALLS = re.compile(r"<tool_calls>\s*(.+?)\s*</tool_calls>", re.DOTALL)

_QWEN_TAIL = (
    "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
    '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, '
    '"arguments": <args-json-object>}\n</tool_call>'
)
_QWEN_HEAD = (
    "You may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)


def _wrapped_lines(tools: list[dict[str, Any]]) -> str:
    return "".join("\n" + dumps(wrap(tool)) for tool in tools)


def _qwen_tools(tools: list[dict[str, Any]]) -> str:
    return "\n\n# Tools\n\n" + _QWEN_HEAD + _wrapped_lines(tools) + _QWEN_TAIL


def _ling_tools(tools: list[dict[str, Any]]) -> str:
    return "# Tools\n\n" + _QWEN_HEAD + _wrapped_lines(tools) + _QWEN_TAIL + "\ndetailed thinking off"


def _qwen_calls(calls: list[FunctionCall]) -> str:
    texts = [dumps({"name": name, "arguments": json.loads(arguments)}) for name, arguments in calls]
    return "\n".join(f"<tool_call>\n{text}\n</tool_call>" for text in texts)


def _qwen_extract(content: str) -> str | list[FunctionCall]:
    found: list[str] = _QWEN_CALL.findall(content)
    if not found:
        return content
    calls = []
    for text in found:
        try:
            tool = json.loads(text.strip())
        except json.JSONDecodeError:
            return content
        if "name" not in tool or "arguments" not in tool:
            return content
        calls.append(FunctionCall(tool["name"], dumps(tool["arguments"])))
    return calls


def _glm4_moe_tools(tools: list[dict[str, Any]]) -> str:
    return (
        "\n\n# Tools\n\n" + _QWEN_HEAD + _wrapped_lines(tools) + "\n</tools>\n\nFor each function call, output the "
        "function name and arguments within the following XML format:\n<tool_call>{function-name}"
        "\n<arg_key>{arg-key-1}</arg_key>\n<arg_value>{arg-value-1}</arg_value>"
        "\n<arg_key>{arg-key-2}</arg_key>\n<arg_value>{arg-value-2}</arg_value>\n...\n</tool_call>\n"
    )


def _glm4_moe_calls(calls: list[FunctionCall]) -> str:
    texts = []
    for name, arguments in calls:
        text = "\n<tool_call>" + name
        for key, value in json.loads(arguments).items():
            text += "\n<arg_key>" + key + "</arg_key>"
            text += "\n<arg_value>" + base.as_text(value) + "</arg_value>"
        texts.append(text)
    return "\n".join(texts)


def _llama3_tools(tools: list[dict[str, Any]]) -> str:
    tool_text = "".join(dumps(wrap(tool), indent=4) + "\n\n" for tool in tools)
    return (
        f"Cutting Knowledge Date: December 2023\nToday Date: {base.today()}\n\n"
        "You have access to the following functions. To call a function, please respond with JSON for a function "
        'call. Respond in the format {"name": function name, "parameters": dictionary of argument name and its '
        f"value}}. Do not use variables.\n\n{tool_text}"
    )


def _llama3_calls(calls: list[FunctionCall]) -> str:
    objects = [{"name": name, "parameters": json.loads(arguments)} for name, arguments in calls]
    return dumps(objects[0] if len(objects) == 1 else objects)


def _json_extractor(arguments_key: str) -> base.CallsExtractor:
    def extract(content: str) -> str | list[FunctionCall]:
        try:
            tools = json.loads(content.strip())
        except json.JSONDecodeError:
            return content
        tools = tools if isinstance(tools, list) else [tools]
        try:
            return [FunctionCall(tool["name"], dumps(tool[arguments_key])) for tool in tools]
        except KeyError:
            return content

    return extract


def _mistral_tools(tools: list[dict[str, Any]]) -> str:
    return "[AVAILABLE_TOOLS] " + dumps([wrap(tool) for tool in tools]) + "[/AVAILABLE_TOOLS]"


def _mistral_calls(calls: list[FunctionCall]) -> str:
    return dumps([{"name": name, "arguments": json.loads(arguments)} for name, arguments in calls])


def _minimax1_tools(tools: list[dict[str, Any]]) -> str:
    tool_text = "".join(dumps(unwrap_or_empty(tool)) + "\n" for tool in tools)
    return (
        f"You are provided with these tools:\n<tools>\n{tool_text}</tools>\n\n"
        "If you need to call tools, please respond with <tool_calls></tool_calls> XML tags, and provide tool-name "
        "and json-object of arguments, following the format below:\n<tool_calls>\n"
        '{"name": <tool-name-1>, "arguments": <args-json-object-1>}\n...\n</tool_calls>'
    )


def _minimax1_calls(calls: list[FunctionCall]) -> str:
    texts = [dumps({"name": name, "arguments": json.loads(arguments)}) for name, arguments in calls]
    return "<tool_calls>\n" + "\n".join(texts) + "\n</tool_calls>"


def _minimax1_extract(content: str) -> str | list[FunctionCall]:
    match = _MINIMAX1_CALLS.search(content)
    if not match:
        return content
    calls = []
    for line in match.group(1).split("\n"):
        line = line.strip()
        if not line:
            continue
        try:
            call = json.loads(line)
        except json.JSONDecodeError:
            continue
        calls.append(FunctionCall(call["name"], dumps(call["arguments"])))
    return calls


QWEN = register_tool_format(ToolFormat("qwen", _qwen_tools, _qwen_calls, _qwen_extract))
LING = register_tool_format(ToolFormat("ling", _ling_tools, _qwen_calls, _qwen_extract))
GLM4_MOE = register_tool_format(ToolFormat("glm4_moe", _glm4_moe_tools, _glm4_moe_calls, _qwen_extract))
LLAMA3 = register_tool_format(ToolFormat("llama3", _llama3_tools, _llama3_calls, _json_extractor("parameters")))
MISTRAL = register_tool_format(ToolFormat("mistral", _mistral_tools, _mistral_calls, _json_extractor("arguments")))
MINIMAX1 = register_tool_format(ToolFormat("minimax1", _minimax1_tools, _minimax1_calls, _minimax1_extract))
