"""Test helpers for the chat engines and the API: a scripted back end, tiny-model configs and a LoRA adapter."""

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lmf_engine.chat.engine import ChatEngine, Generation, Request
from lmf_engine.chat.settings import base_settings
from lmf_engine.config import Config, load_config


class ScriptedEngine(ChatEngine):
    """A back end that writes ``chunks`` (one every ``delay`` seconds) instead of running a model.

    It records what the layers above it do: the requests it got, how many generations ran at once, which ones ended
    early, so that queueing, cancellation and the API can be checked without the cost of a model.
    """

    name = "scripted"

    def __init__(self, chunks: Sequence[str] = ("Hello", ",", " world"), delay: float = 0.0, **kwargs: Any) -> None:
        super().__init__(base_settings(Config()))
        self.chunks = list(chunks)
        self.delay = delay
        self.model_name = "scripted-model"
        self.template = kwargs.get("template")
        self.context_length = kwargs.get("context_length")
        self.requests: list[Request] = []
        self.active = self.max_active = 0
        self.completed = self.interrupted = 0
        self.order: list[tuple[str, int]] = []

    async def _generate(self, request: Request, generation: Generation, stream: bool) -> Any:
        number = len(self.requests)
        self.requests.append(request)
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        self.order.append(("start", number))
        finished = False
        written: list[str] = []
        try:
            limit = request.settings["max_new_tokens"] or len(self.chunks)
            for chunk in self.chunks[:limit]:
                if generation.cancelled:
                    break
                await asyncio.sleep(self.delay)
                written.append(chunk)
                if stream:
                    yield chunk
            generation.raw_text = "".join(written)
            generation.prompt_tokens, generation.completion_tokens = 7, len(written)
            if generation.cancelled:
                generation.finish_reason = "cancelled"
            else:
                generation.finish_reason = "length" if len(self.chunks) > limit else "stop"
            finished = not generation.cancelled
        finally:
            self.active -= 1
            self.order.append(("end", number))
            if finished:
                self.completed += 1
            else:
                self.interrupted += 1


def tiny_config(model_dir: Path, **values: Any) -> Config:
    """A chat config for the tiny model (template qwen, short answers) with ``values`` on top."""
    base: dict[str, Any] = {"model_name_or_path": str(model_dir), "template": "qwen", "max_new_tokens": 8}
    return load_config(values={**base, **values})
