"""Prompt token ids for the in-process back ends, built exactly as LLaMA-Factory's chat engines build them."""

from typing import TYPE_CHECKING, Any

from .errors import RequestError

if TYPE_CHECKING:
    from lmf_engine.data.templates import Template

    from .engine import Request


class PromptBuilder:
    """Encodes a request's conversation plus an empty assistant turn with the run's template (one turn, no cut).

    Text pieces are cached across requests (system prompts and tool lists repeat), within the encoder's byte bound;
    a prompt that fills the model's context (``context_length``) is a :class:`RequestError` and leaves nothing in
    the cache.
    """

    def __init__(self, template: "Template", tokenizer: Any, context_length: int | None = None) -> None:
        from lmf_engine.data.templates import ElementEncoder

        self.template = template
        self.encoder = ElementEncoder(tokenizer)
        self.context_length = context_length

    def ids(self, request: "Request") -> list[int]:
        from lmf_engine.data.example import Message

        try:
            prompt, _ = self.template.render_oneturn(
                [*request.messages, Message("assistant", "")], request.system, request.tools
            )
        except (RuntimeError, KeyError, TypeError) as exc:
            raise RequestError(f"cannot render the conversation with this template: {exc}", "messages") from None
        ids = self.encoder.ids(prompt, keep=False)
        if self.context_length and len(ids) >= self.context_length:
            self.encoder.discard()
            raise RequestError(
                f"the prompt is {len(ids)} tokens; this model takes at most {self.context_length}", "messages"
            )
        self.encoder.commit()
        return ids
