"""Conversations as files: OpenAI's messages JSON, shared by the REPL's ``/save``/``/load`` and the workbench.

In memory a conversation uses LLaMA-Factory's roles (``user``, ``assistant``, ``function`` for a tool call whose
content is the calls' JSON, ``observation`` for a tool result). A file holds OpenAI's roles::

    {
      "system": "You are terse.",                      # or null
      "messages": [                                    # OpenAI messages (a tool call is an assistant message
        {"role": "user", "content": "Weather in Oslo?"},   #  with tool_calls, its result a tool message)
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1_0", "type": "function",
          "function": {"name": "weather", "arguments": "{\\"city\\": \\"Oslo\\"}"}}]},
        {"role": "tool", "content": "4 C", "tool_call_id": "call_1_0"}
      ],
      "settings": {"temperature": 0.2},               # generation settings changed from the model's defaults
      "tools": "[...]",                               # the tools JSON text, when the conversation has tools
      "branches": [                                   # A/B chats only: each side's own conversation
        {"target": "run sft_lora (base model)", "messages": [...]},
        {"target": "run sft_lora", "messages": [...]}
      ]
    }

In an A/B file ``messages`` repeats the first branch, so a reader that knows nothing of branches (the REPL's
``/load``) continues the first side's conversation. A plain JSON list of OpenAI messages loads too.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmf_engine.data.example import Message

ROLES = ("user", "assistant", "function", "observation")


@dataclass
class Branch:
    """One side of an A/B chat: the label of what it talked to, and its messages (LLaMA-Factory roles)."""

    target: str
    messages: list[dict[str, str]]


@dataclass
class Conversation:
    """A conversation as saved: system prompt, messages (LLaMA-Factory roles), settings, tools and A/B branches."""

    system: str | None = None
    messages: list[dict[str, str]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    tools: str | None = None
    branches: list[Branch] = field(default_factory=list)


def function_calls(content: str) -> list[dict[str, Any]] | None:
    """The calls of a ``function`` message's JSON content (one object or a list), or None when it holds none."""
    try:
        calls = json.loads(content)
    except json.JSONDecodeError:
        return None
    calls = calls if isinstance(calls, list) else [calls]
    if not all(isinstance(c, dict) and "name" in c for c in calls):
        return None
    return calls


def _arguments(call: Mapping[str, Any]) -> str:
    args = call.get("arguments", {})
    return args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)


def to_openai(messages: Sequence[Message | Mapping[str, str]], system: str | None = None) -> list[dict[str, Any]]:
    """A conversation in OpenAI's roles: function calls become ``tool_calls``, observations ``tool`` messages."""
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    call_ids: list[str] = []
    for index, item in enumerate(messages):
        role, content = (item.role, item.content) if isinstance(item, Message) else (item["role"], item["content"])
        calls = function_calls(content) if role == "function" else None
        if calls is not None:
            call_ids = [f"call_{index}_{i}" for i in range(len(calls))]
            tool_calls = [
                {"id": cid, "type": "function", "function": {"name": c["name"], "arguments": _arguments(c)}}
                for cid, c in zip(call_ids, calls, strict=True)
            ]
            out.append({"role": "assistant", "content": None, "tool_calls": tool_calls})
        elif role == "observation":
            out.append({"role": "tool", "content": content, "tool_call_id": call_ids[0] if call_ids else ""})
        else:
            out.append({"role": "assistant" if role == "function" else role, "content": content})
    return out


def _from_tool_calls(calls: Any, where: str) -> str:
    if not isinstance(calls, list) or not calls:
        raise ValueError(f"{where}: tool_calls must be a non-empty list")
    out = []
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ValueError(f"{where}: each tool call needs function.name")
        arguments = function.get("arguments", "{}")
        try:
            parsed = json.loads(arguments) if isinstance(arguments, str) else arguments
        except json.JSONDecodeError:
            raise ValueError(f"{where}: the arguments of {function['name']} are not JSON") from None
        out.append({"name": function["name"], "arguments": parsed})
    return json.dumps(out, ensure_ascii=False)


def from_openai(items: Any, where: str = "messages") -> tuple[str | None, list[dict[str, str]]]:
    """``(system, messages)`` in LLaMA-Factory's roles from OpenAI messages (the inverse of :func:`to_openai`)."""
    if not isinstance(items, list):
        raise ValueError(f"{where}: expected a JSON list of messages")
    system, messages = None, []
    for i, item in enumerate(items):
        at = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise ValueError(f"{at}: expected an object with role and content")
        role, content = item.get("role"), item.get("content")
        if i == 0 and role == "system" and isinstance(content, str):
            system = content
            continue
        if role == "assistant" and item.get("tool_calls"):
            messages.append({"role": "function", "content": _from_tool_calls(item["tool_calls"], at)})
            continue
        role = "observation" if role == "tool" else role
        if role not in ROLES or not isinstance(content, str):
            raise ValueError(f"{at}: needs a role (user, assistant, tool) and a text content")
        messages.append({"role": role, "content": content})
    return system, messages


def load_conversation(path: Path) -> Conversation:
    """A conversation file (see the module's text) or a JSON list of messages; ValueError / OSError when bad."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        system, messages = from_openai(data)
        return Conversation(system, messages)
    system, messages = from_openai(data.get("messages"))
    if data.get("system") is not None:
        system = data["system"]
    if system is not None and not isinstance(system, str):
        raise ValueError("`system` must be a string")
    settings, tools = data.get("settings") or {}, data.get("tools")
    if not isinstance(settings, dict):
        raise ValueError("`settings` must be an object")
    if tools is not None and not isinstance(tools, str):
        tools = json.dumps(tools, ensure_ascii=False)
    branches = []
    for i, branch in enumerate(data.get("branches") or []):
        if not isinstance(branch, dict):
            raise ValueError(f"branches[{i}]: expected an object with target and messages")
        _, branch_messages = from_openai(branch.get("messages"), f"branches[{i}]")
        branches.append(Branch(str(branch.get("target", "")), branch_messages))
    return Conversation(system, messages, settings, tools, branches)


def conversation_json(conversation: Conversation) -> str:
    """The file text of a conversation (``messages`` repeats the first branch of an A/B chat)."""
    messages = conversation.branches[0].messages if conversation.branches else conversation.messages
    data: dict[str, Any] = {
        "system": conversation.system,
        "messages": to_openai(messages),
        "settings": conversation.settings,
    }
    if conversation.tools:
        data["tools"] = conversation.tools
    if conversation.branches:
        data["branches"] = [{"target": b.target, "messages": to_openai(b.messages)} for b in conversation.branches]
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def save_conversation(path: Path, conversation: Conversation) -> None:
    """Write the conversation file (whole or not at all)."""
    from lmf_engine.util.fs import atomic_write_text

    atomic_write_text(path, conversation_json(conversation))
