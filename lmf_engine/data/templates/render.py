"""The template interpreter: messages to element lists, with LLaMA-Factory 0.9.5's exact rules.

Each message becomes one element list (turn 0 also gets the prefix and the system message). Elements are tokenized
one by one, so an added empty thought is just one more text element, as LLaMA-Factory encodes it on its own.
"""

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..example import Message
from .slots import Element, fill
from .tools import FunctionCall, get_tool_format

if TYPE_CHECKING:
    from .template import Template


def tools_text(template: "Template", tools: str) -> Element:
    """The tool list as the system message carries it (LLaMA-Factory's ToolFormatter, first element)."""
    if template.tools_slots is not None:
        return fill(template.tools_slots, content=tools)[0]
    try:
        parsed = json.loads(tools)
        return get_tool_format(template.tool_format).format_tools(parsed) if len(parsed) != 0 else ""
    except json.JSONDecodeError as err:
        raise RuntimeError(f"Invalid JSON format in tool description: {[tools]!s}.") from err


def _parse_calls(json_text: str, content: str) -> list[FunctionCall]:
    try:
        calls = json.loads(json_text)
    except json.JSONDecodeError as err:
        raise RuntimeError(f"Invalid JSON format in function message: {[content]!s}.") from err
    if not isinstance(calls, list):
        calls = [calls]
    try:
        return [FunctionCall(c["name"], json.dumps(c["arguments"], ensure_ascii=False)) for c in calls]
    except (KeyError, TypeError):
        raise RuntimeError(
            f"Invalid JSON format in function message (each call needs a name and arguments): {[content]!s}."
        ) from None


def _between(words: tuple[str, str]) -> re.Pattern[str]:
    return re.compile(f"{re.escape(words[0])}(.*?){re.escape(words[1])}", re.DOTALL)


def function_elements(template: "Template", content: str, use_words: bool = True) -> list[Element]:
    """A ``function`` message: JSON call(s), optionally after a thought or inside tool-call words."""
    fmt = get_tool_format(template.tool_format)
    call_match = _between(template.tool_call_words).search(content) if use_words else None
    if call_match is None:
        thought = _between(template.thought_words).search(content) if use_words else None
        json_part = content.replace(thought.group(0), "") if thought else content
        text = fmt.format_calls(_parse_calls(json_part, content))
        if thought:
            text = thought.group(0) + text
    else:
        before = content.replace(call_match.group(0), "")
        text = before + fmt.format_calls(_parse_calls(call_match.group(1), content))
    return fill(template.format_function, content=text)


def render_messages(
    template: "Template", messages: Sequence[Message], system: str | None, tools: str | None
) -> list[list[Element]]:
    """One element list per message (LLaMA-Factory's ``Template._encode`` / ``Llama2Template._encode``)."""
    system = system or template.default_system
    merged = template.system_style == "merged"
    out: list[list[Element]] = []
    for i, message in enumerate(messages):
        elements: list[Element] = []
        system_text: Element = ""
        if i == 0:
            elements.extend(template.format_prefix)
            if system or tools:
                tool_text = tools_text(template, tools) if tools else ""
                system_elements = fill(template.format_system, content=system + tool_text)  # type: ignore[operator]
                if merged:
                    system_text = system_elements[0]
                else:
                    elements += system_elements
        role, content = message.role, message.content
        if role == "user":
            if merged:
                elements += fill(template.format_user, content=system_text + content)  # type: ignore[operator]
            else:
                elements += fill(template.format_user, content=content, idx=str(i // 2))
        elif role == "assistant":
            elements += fill(template.format_assistant, content=content)
        elif role == "observation":
            elements += fill(template.format_observation, content=content)
        elif role == "function":
            elements += function_elements(template, content, use_words=not merged)
        else:
            raise NotImplementedError(f"Unexpected role: {role}")
        out.append(elements)
    return out


def _strip(template: "Template", messages: list[Message], indices: range | list[int]) -> None:
    for i in indices:
        messages[i] = Message(messages[i].role, template.remove_thought(messages[i].content))


def _has_thought(template: "Template", content: str) -> bool:
    start, end = (w.strip() for w in template.thought_words)
    return start in content or end in content


def render_oneturn(
    template: "Template", messages: Sequence[Message], system: str | None, tools: str | None
) -> tuple[list[Element], list[Element]]:
    """Prompt and response elements for a one-turn encoding (LLaMA-Factory's ``encode_oneturn``)."""
    msgs = list(messages)
    if template.is_reasoning:
        if not template.preserve_thinking:
            _strip(template, msgs, range(1, len(msgs) - 2, 2))
        if template.enable_thinking is False:
            _strip(template, msgs, [len(msgs) - 1])
    encoded = render_messages(template, msgs, system, tools)
    prompt = [e for elements in encoded[:-1] for e in elements]
    response = encoded[-1]
    if template.is_reasoning and not _has_thought(template, msgs[-1].content):
        if not template.enable_thinking:
            prompt.append(template.empty_thought())
        else:
            response = [template.empty_thought(), *response]
    return prompt, response


def render_multiturn(
    template: "Template",
    messages: Sequence[Message],
    system: str | None,
    tools: str | None,
    discard_history_thoughts: bool = False,
) -> list[tuple[list[Element], list[Element]]]:
    """(prompt, response) elements per turn (LLaMA-Factory's ``encode_multiturn``)."""
    msgs = list(messages)
    if not template.is_reasoning:
        encoded = render_messages(template, msgs, system, tools)
        return [(encoded[i], encoded[i + 1]) for i in range(0, len(encoded), 2)]
    if template.enable_thinking is False:
        _strip(template, msgs, range(1, len(msgs), 2))
    if discard_history_thoughts:
        _strip(template, msgs, range(1, len(msgs) - 2, 2))
    encoded = render_messages(template, msgs, system, tools)
    turns = [len(msgs) - 2] if discard_history_thoughts else range(0, len(msgs), 2)
    for i in turns:
        if not _has_thought(template, msgs[i + 1].content):
            if not template.enable_thinking:
                encoded[i] = [*encoded[i], template.empty_thought()]
            else:
                encoded[i + 1] = [template.empty_thought(), *encoded[i + 1]]
    return [(encoded[i], encoded[i + 1]) for i in range(0, len(encoded), 2)]
