"""Tool formats: describing tools in the system prompt, writing tool calls, reading calls back from generated text.

One format per model family, each exactly as LLaMA-Factory 0.9.5 writes it: ``default``, ``glm4``, ``glm4_moe``,
``llama3``, ``mistral``, ``qwen``, ``qwen3_5``, ``ling``, ``lfm2``, ``gemma4``, ``minimax1``, ``minimax2``,
``seed_oss``.
"""

from . import json_calls, plain, pythonic, xml_calls  # noqa: F401  (registers the formats)
from .base import FunctionCall, ToolFormat, get_tool_format, register_tool_format, today, tool_format_names

__all__ = ["FunctionCall", "ToolFormat", "get_tool_format", "register_tool_format", "today", "tool_format_names"]
