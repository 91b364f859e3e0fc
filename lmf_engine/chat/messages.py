"""Chat messages as the engines take them: LLaMA-Factory's roles, checked for order before anything is generated."""

from collections.abc import Mapping, Sequence
from typing import Any

from lmf_engine.data.example import Message

from .errors import RequestError

ROLE_ALIASES = {"tool": "observation"}
"""OpenAI's name for a tool result."""
PROMPT_ROLES = ("user", "observation")
ANSWER_ROLES = ("assistant", "function")

MessageLike = Mapping[str, Any] | Message


def _as_message(index: int, item: MessageLike) -> Message:
    if isinstance(item, Message):
        return item
    if not isinstance(item, Mapping):
        raise RequestError(f"messages[{index}] must be an object with `role` and `content`", "messages")
    role, content = item.get("role"), item.get("content")
    if not isinstance(role, str):
        raise RequestError(f"messages[{index}].role must be a string", "messages")
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise RequestError(f"messages[{index}].content must be a string", "messages")
    return Message(ROLE_ALIASES.get(role, role), content)  # type: ignore[arg-type]


def normalize_messages(messages: Sequence[MessageLike], system: str | None = None) -> tuple[list[Message], str | None]:
    """Check a conversation and return it as :class:`Message` objects with the system prompt apart.

    A leading ``system`` message becomes the system prompt (unless ``system`` is given too, which is an error). The
    rest must alternate ``user``/``observation`` (even positions) and ``assistant``/``function`` (odd positions) and
    end with a user or observation turn, as LLaMA-Factory's API requires. Violations raise :class:`RequestError`.
    """
    items = [_as_message(i, item) for i, item in enumerate(messages)]
    if items and items[0].role == "system":
        if system is not None:
            raise RequestError("give the system prompt either as `system` or as a first system message", "messages")
        system = items.pop(0).content
    if not items:
        raise RequestError("messages must hold at least one user message", "messages")
    for i, message in enumerate(items):
        allowed = PROMPT_ROLES if i % 2 == 0 else ANSWER_ROLES
        if message.role not in allowed:
            raise RequestError(
                f"message {i + 1} has role {message.role!r}; turns must alternate user/tool and assistant, starting "
                f"with user (expected {' or '.join(allowed)})",
                "messages",
            )
    if len(items) % 2 == 0:
        raise RequestError("the last message must come from the user (or be a tool result)", "messages")
    return items, system


def with_image_placeholders(messages: list[Message], count: int) -> list[Message]:
    """``messages`` with ``count`` images: as LLaMA-Factory's chat does, when no message has an ``<image>``
    placeholder they all go before the first message's text; otherwise the placeholders must number ``count``."""
    from lmf_engine.data.media_paths import PLACEHOLDERS

    placeholder = PLACEHOLDERS["images"]
    found = sum(message.content.count(placeholder) for message in messages)
    if found == 0:
        first = messages[0]
        return [Message(first.role, placeholder * count + first.content), *messages[1:]]
    if found != count:
        raise RequestError(f"{count} image(s) for {found} {placeholder} placeholder(s) in the messages", "messages")
    return messages
