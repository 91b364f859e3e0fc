"""The tool-format interface, its registry, and helpers shared by the formats."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple


class FunctionCall(NamedTuple):
    """One call: the function name and its arguments as JSON text."""

    name: str
    arguments: str


ToolsFormatter = Callable[[list[dict[str, Any]]], str]
CallsFormatter = Callable[[list[FunctionCall]], str]
CallsExtractor = Callable[[str], "str | list[FunctionCall]"]


@dataclass(frozen=True)
class ToolFormat:
    """How one model family describes tools, writes tool calls, and how calls are read back from generated text.

    ``format_tools`` builds the text appended to the system message, ``format_calls`` the assistant's call text and
    ``extract`` returns the calls found in generated text, or the text itself when it holds none.
    """

    name: str
    format_tools: ToolsFormatter
    format_calls: CallsFormatter
    extract: CallsExtractor


_FORMATS: dict[str, ToolFormat] = {}


def register_tool_format(fmt: ToolFormat) -> ToolFormat:
    """Add a tool format under its name."""
    _FORMATS[fmt.name] = fmt
    return fmt


def get_tool_format(name: str) -> ToolFormat:
    """The tool format called ``name`` (ValueError when unknown, as LLaMA-Factory)."""
    fmt = _FORMATS.get(name)
    if fmt is None:
        raise ValueError(f"Tool utils `{name}` not found.")
    return fmt


def tool_format_names() -> list[str]:
    """Every registered tool format name."""
    return sorted(_FORMATS)


def today() -> str:
    """Today's date as the llama3 tool prompt writes it (tests patch this for stable output)."""
    return datetime.now().strftime("%d %b %Y")


def dumps(value: Any, indent: int | None = None) -> str:
    """JSON text without ASCII escaping, as every format writes it."""
    return json.dumps(value, ensure_ascii=False, indent=indent)


def unwrap_or_empty(tool: dict[str, Any]) -> Any:
    """``{"type": "function", "function": {...}}`` becomes the inner dict (``""`` when it lacks one)."""
    return tool.get("function", "") if tool.get("type") == "function" else tool


def unwrap_or_self(tool: dict[str, Any]) -> Any:
    """``{"type": "function", "function": {...}}`` becomes the inner dict (the tool itself when it lacks one)."""
    return tool.get("function", tool) if tool.get("type") == "function" else tool


def wrap(tool: dict[str, Any]) -> dict[str, Any]:
    """A bare function schema becomes ``{"type": "function", "function": schema}``."""
    return tool if tool.get("type") == "function" else {"type": "function", "function": tool}


def as_text(value: Any) -> str:
    """A call argument written as text: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else dumps(value)
