"""Plain-text tool formats: ``default`` (ReAct-style Action / Action Input) and ``glm4``."""

import json
import re
from typing import Any

from .base import FunctionCall, ToolFormat, dumps, register_tool_format, unwrap_or_empty

_ACTION = re.compile(r"Action:\s*([a-zA-Z0-9_]+)\s*Action Input:\s*(.+?)(?=\s*Action:|\s*$)", re.DOTALL)


def _default_tools(tools: list[dict[str, Any]]) -> str:
    tool_text = ""
    names = []
    for raw in tools:
        tool = unwrap_or_empty(raw)
        params = tool["parameters"]
        args = ""
        for name, param in params["properties"].items():
            required = ", required" if name in params.get("required", []) else ""
            enum = f", should be one of [{', '.join(param['enum'])}]" if param.get("enum", None) else ""
            items = f", where each item should be {param['items'].get('type', '')}" if param.get("items", None) else ""
            args += f"  - {name} ({param.get('type', '')}{required}): {param.get('description', '')}{enum}{items}\n"
        tool_text += (
            f"> Tool Name: {tool['name']}\nTool Description: {tool.get('description', '')}\nTool Args:\n{args}\n"
        )
        names.append(tool["name"])
    return (
        f"You have access to the following tools:\n{tool_text}"
        "Use the following format if using a tool:\n```\n"
        f"Action: tool name (one of [{', '.join(names)}])\n"
        "Action Input: the input to the tool, in a JSON format representing the kwargs "
        '(e.g. ```{"input": "hello world", "num_beams": 5}```)\n```\n'
    )


def _default_calls(calls: list[FunctionCall]) -> str:
    return "\n".join(f"Action: {name}\nAction Input: {arguments}" for name, arguments in calls)


def _default_extract(content: str) -> str | list[FunctionCall]:
    matches: list[tuple[str, str]] = _ACTION.findall(content)
    if not matches:
        return content
    calls = []
    for name, raw in matches:
        text = raw.strip().strip('"').strip("`")  # LLaMA-Factory's strip("```") strips the same character set
        try:
            arguments = json.loads(text)
        except json.JSONDecodeError:
            return content
        calls.append(FunctionCall(name.strip(), dumps(arguments)))
    return calls


_GLM4_PROMPT = (
    "你是一个名为 ChatGLM 的人工智能助手。你是基于智谱 AI 公司训练的语言模型 GLM-4 模型开发的，"
    "你的任务是针对用户的问题和要求提供适当的答复和支持。\n\n# 可用工具"
)


def _glm4_tools(tools: list[dict[str, Any]]) -> str:
    text = ""
    for raw in tools:
        tool = unwrap_or_empty(raw)
        text += f"\n\n## {tool['name']}\n\n{dumps(tool, indent=4)}\n在调用上述函数时，请使用 Json 格式表示调用的参数。"
    return _GLM4_PROMPT + text


def _glm4_calls(calls: list[FunctionCall]) -> str:
    if len(calls) > 1:
        raise ValueError("GLM-4 does not support parallel functions.")
    return f"{calls[0].name}\n{calls[0].arguments}"


def _glm4_extract(content: str) -> str | list[FunctionCall]:
    if "\n" not in content:
        return content
    name, raw = content.split("\n", maxsplit=1)
    try:
        arguments = json.loads(raw.strip())
    except json.JSONDecodeError:
        return content
    return [FunctionCall(name, dumps(arguments))]


DEFAULT = register_tool_format(ToolFormat("default", _default_tools, _default_calls, _default_extract))
GLM4 = register_tool_format(ToolFormat("glm4", _glm4_tools, _glm4_calls, _glm4_extract))
