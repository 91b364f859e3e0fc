"""The chat screen's state apart from its widgets: each side's target, engine and history, and what goes in a file.

Histories use LLaMA-Factory's roles (see :mod:`lmf_engine.chat.conversation`); a column shows one turn per message,
so message ``i`` and turn ``i`` always match, which is what forking and regenerating rely on.
"""

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lmf_engine.chat.conversation import Branch, Conversation, function_calls
from lmf_engine.chat.target import ChatTarget
from lmf_engine.chat.text import split_reasoning
from lmf_engine.data.media_paths import PLACEHOLDERS

if TYPE_CHECKING:
    from lmf_engine.chat import ChatEngine, Response

ANSWER_ROLES = ("assistant", "function")


@dataclass
class Side:
    """One column: what it talks to, its engine once loaded (and the target it was loaded for), its conversation and
    its last prompt's token ids."""

    name: str
    target: ChatTarget | None = None
    engine: "ChatEngine | None" = None
    engine_target: ChatTarget | None = None
    messages: list[dict[str, str]] = field(default_factory=list)
    prompt_ids: list[int] | None = None
    images: list[str] = field(default_factory=list)
    """The pictures of the conversation, in order: one for each ``<image>`` of its messages."""

    @property
    def label(self) -> str:
        return self.target.label if self.target is not None else "no model (ctrl+o chooses one)"

    def user_indices(self) -> list[int]:
        """Positions of the messages typed by the user (user and tool results)."""
        return [i for i, m in enumerate(self.messages) if m["role"] not in ANSWER_ROLES]

    def last_is_answer(self) -> bool:
        return bool(self.messages) and self.messages[-1]["role"] in ANSWER_ROLES

    def trim_images(self) -> None:
        """Keep the pictures of the messages left (after a fork, a dropped message or a new chat)."""
        placeholder = PLACEHOLDERS["images"]
        del self.images[sum(message["content"].count(placeholder) for message in self.messages) :]


def answer_message(response: "Response") -> dict[str, str]:
    """The history entry of an answer: its tool calls (a ``function`` message) or the text the model wrote."""
    if response.tool_calls:
        calls = []
        for call in response.tool_calls:
            try:
                arguments = json.loads(call.arguments)
            except (TypeError, ValueError):
                arguments = call.arguments
            calls.append({"name": call.name, "arguments": arguments})
        return {"role": "function", "content": json.dumps(calls, ensure_ascii=False)}
    return {"role": "assistant", "content": response.raw_text}


def saved_answer(message: dict[str, str]) -> tuple[str, str, list[tuple[str, str]]]:
    """``(answer, reasoning, calls)`` to show for an answer read from a file."""
    if message["role"] == "function":
        calls = function_calls(message["content"]) or []
        shown = [(c["name"], json.dumps(c.get("arguments", {}), ensure_ascii=False)) for c in calls]
        return "", "", shown
    reasoning, answer = split_reasoning(message["content"])
    return answer, reasoning, []


def conversation_of(
    sides: list[Side], system: str | None, settings: dict[str, object], tools: str | None
) -> Conversation:
    """The conversation to save: one side's messages, or every side as a branch of an A/B chat."""
    if len(sides) == 1:
        return Conversation(system, list(sides[0].messages), dict(settings), tools)
    branches = [Branch(side.label, list(side.messages)) for side in sides]
    return Conversation(system, list(sides[0].messages), dict(settings), tools, branches)


def histories_of(conversation: Conversation, count: int) -> list[list[dict[str, str]]]:
    """The histories of ``count`` sides from a loaded conversation (its branches when it has enough)."""
    if len(conversation.branches) >= count:
        return [list(branch.messages) for branch in conversation.branches[:count]]
    first = conversation.branches[0].messages if conversation.branches else conversation.messages
    return [list(first) for _ in range(count)]
