"""The canonical form every dataset row becomes before templating."""

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["user", "assistant", "function", "observation"]
ROLES: tuple[Role, ...] = ("user", "assistant", "function", "observation")


@dataclass(frozen=True, slots=True)
class Message:
    """One turn. ``function`` holds the assistant's tool call(s) as JSON text; ``observation`` the tool result."""

    role: Role
    content: str


@dataclass(slots=True)
class Example:
    """A converted row.

    ``prompt`` alternates user/observation and assistant/function turns and ends with a user or observation turn.
    ``response`` is one assistant (or function) message for sft and kto, ``[chosen, rejected]`` for ranking data,
    and empty for pre-training text or prediction. ``kto_tag`` is True for a desirable kto example, False for an
    undesirable one and None otherwise. ``source`` says where the row came from: dataset name, file and row.
    """

    prompt: list[Message]
    response: list[Message] = field(default_factory=list)
    system: str = ""
    tools: str = ""
    kto_tag: bool | None = None
    source: dict[str, Any] = field(default_factory=dict)
    images: list[str] = field(default_factory=list)
    videos: list[str] = field(default_factory=list)
    audios: list[str] = field(default_factory=list)

    @property
    def chosen(self) -> Message:
        return self.response[0]

    @property
    def rejected(self) -> Message:
        return self.response[1]

    def to_row(self) -> dict[str, Any]:
        """A plain dict for ``datasets``: columns ``_prompt``, ``_response``, ``_system``, ``_tools``, ``_kto_tag``
        and ``_images``, ``_videos``, ``_audios`` (None without media, as in LLaMA-Factory's rows)."""
        return {
            "_prompt": [{"role": m.role, "content": m.content} for m in self.prompt],
            "_response": [{"role": m.role, "content": m.content} for m in self.response],
            "_system": self.system,
            "_tools": self.tools,
            "_kto_tag": self.kto_tag,
            "_images": self.images or None,
            "_videos": self.videos or None,
            "_audios": self.audios or None,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Example":
        """The inverse of :meth:`to_row`."""
        return cls(
            prompt=[Message(m["role"], m["content"]) for m in row["_prompt"]],
            response=[Message(m["role"], m["content"]) for m in row["_response"]],
            system=row.get("_system") or "",
            tools=row.get("_tools") or "",
            kto_tag=row.get("_kto_tag"),
            images=list(row.get("_images") or ()),
            videos=list(row.get("_videos") or ()),
            audios=list(row.get("_audios") or ()),
        )
