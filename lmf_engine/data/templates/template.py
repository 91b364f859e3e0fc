"""The Template: a chat format read from a TOML definition, with the options a run can override."""

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from ..example import Message
from . import render
from .slots import EOS, Element, Slots
from .tools import FunctionCall, get_tool_format

SystemStyle = Literal["separate", "merged"]
MEDIA_TOKEN_KEYS = ("image", "video", "audio", "vision_bos", "vision_eos", "audio_bos", "audio_eos")


@dataclass(frozen=True)
class MediaTokens:
    """The tokens a multimodal template's plugin writes: what each ``<image>`` / ``<video>`` / ``<audio>``
    placeholder becomes (repeated once per feature), and the words around a run of them."""

    image: str | None = None
    video: str | None = None
    audio: str | None = None
    vision_bos: str | None = None
    vision_eos: str | None = None
    audio_bos: str | None = None
    audio_eos: str | None = None


Reasoning = Literal["none", "think", "think_close_only"]


@dataclass(frozen=True)
class Template:
    """A chat template as LLaMA-Factory 0.9.5 defines it, held as data.

    ``system_style="merged"`` is LLaMA-Factory's Llama2Template (the system text is put inside the first user turn);
    ``reasoning="think"`` its ReasoningTemplate (empty thoughts are added, history thoughts dropped) and
    ``"think_close_only"`` its GLM-4.7 variant whose empty thought is only the closing word. ``tool_format`` names
    the format of tool calls in ``function`` messages and, unless ``tools_slots`` is set, of the tool list in the
    system message. ``multimodal`` names LLaMA-Factory's mm plugin and ``media_tokens`` the tokens it writes.
    """

    name: str
    format_user: Slots
    format_assistant: Slots
    format_system: Slots
    format_function: Slots
    format_observation: Slots
    format_prefix: Slots = ()
    tool_format: str = "default"
    tools_slots: Slots | None = None
    default_system: str = ""
    stop_words: tuple[str, ...] = ()
    thought_words: tuple[str, str] = ("<think>\n", "\n</think>\n\n")
    tool_call_words: tuple[str, str] = ("<tool_call>", "</tool_call>")
    efficient_eos: bool = False
    replace_eos: bool = False
    replace_jinja_template: bool = False
    enable_thinking: bool | None = True
    preserve_thinking: bool = False
    system_style: SystemStyle = "separate"
    reasoning: Reasoning = "none"
    multimodal: str | None = None
    media_tokens: MediaTokens = MediaTokens()
    source: str = field(default="", compare=False)

    @property
    def is_reasoning(self) -> bool:
        """True for templates that add or strip thoughts (LLaMA-Factory's ReasoningTemplate)."""
        return self.reasoning != "none"

    def with_options(
        self,
        *,
        tool_format: str | None = None,
        default_system: str | None = None,
        enable_thinking: bool | None = True,
        preserve_thinking: bool = False,
    ) -> "Template":
        """A copy with a run's overrides applied, as ``get_template_and_fix_tokenizer`` applies them.

        ``tool_format`` replaces the function-call slots by ``{{content}}`` (+ eos unless ``efficient_eos``) and the
        tool list format; ``default_system`` replaces the default system message; ``enable_thinking`` and
        ``preserve_thinking`` only apply to reasoning templates.
        """
        changes: dict[str, object] = {}
        if tool_format is not None:
            get_tool_format(tool_format)
            changes["format_function"] = ("{{content}}",) if self.efficient_eos else ("{{content}}", EOS)
            changes["tool_format"] = tool_format
            changes["tools_slots"] = None
        if default_system is not None:
            changes["default_system"] = default_system
        if self.is_reasoning:
            changes["enable_thinking"] = enable_thinking
            changes["preserve_thinking"] = preserve_thinking
        return dataclasses.replace(self, **changes) if changes else self

    # --- rendering to elements (text, named tokens, bos/eos); the tokenizer turns them into ids ---

    def render(
        self, messages: Sequence[Message], system: str | None = None, tools: str | None = None
    ) -> list[list[Element]]:
        """One element list per message (turn 0 also carries the prefix and the system message)."""
        return render.render_messages(self, messages, system, tools)

    def render_oneturn(
        self, messages: Sequence[Message], system: str | None = None, tools: str | None = None
    ) -> tuple[list[Element], list[Element]]:
        """Prompt elements (every message but the last) and response elements (the last message)."""
        return render.render_oneturn(self, messages, system, tools)

    def render_multiturn(
        self,
        messages: Sequence[Message],
        system: str | None = None,
        tools: str | None = None,
        discard_history_thoughts: bool = False,
    ) -> list[tuple[list[Element], list[Element]]]:
        """(prompt, response) element pairs, one per turn."""
        return render.render_multiturn(self, messages, system, tools, discard_history_thoughts)

    # --- thoughts and tools ---

    def empty_thought(self) -> str:
        """The text of an empty thought block (``<think>\\n\\n</think>\\n\\n`` for most reasoning templates)."""
        if self.reasoning == "think_close_only":
            return self.thought_words[1]
        return self.thought_words[0] + self.thought_words[1]

    def add_thought(self, content: str = "") -> str:
        """LLaMA-Factory's ``add_thought``: an empty thought then ``content`` (GLM-4.7: ``content`` as thought)."""
        if self.reasoning == "think_close_only" and content:
            return self.thought_words[0] + content + self.thought_words[1]
        return self.empty_thought() + content

    def remove_thought(self, content: str) -> str:
        """``content`` without its thought blocks (and without leading newlines)."""
        start, end = (re.escape(w) for w in self.thought_words)
        return re.sub(f"{start}(.*?){end}", "", content, flags=re.DOTALL).lstrip("\n")

    def extract_tool(self, content: str) -> str | list[FunctionCall]:
        """Tool calls found in generated ``content``, or ``content`` when there are none."""
        if self.tools_slots is not None:
            raise NotImplementedError("This template describes tools with plain slots and cannot extract calls.")
        return get_tool_format(self.tool_format).extract(content)
