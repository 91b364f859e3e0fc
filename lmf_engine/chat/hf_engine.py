"""The transformers back end: the config's model (plus adapters) generating in-process, in a worker thread.

The prompt is built as LLaMA-Factory's chat engine builds it (the conversation plus an empty assistant turn, encoded
one turn at a time by the run's template); generation stops at the template's stop words. One long-lived worker
thread runs every generation in turn (a fresh thread per answer costs torch several milliseconds before its first
token); the arguments of ``generate`` are built in the requesting thread, so that the worker, which wakes up cold,
has only ``generate`` to run. Streaming hands the first token's text over at once and later text in batches (see
:class:`.hf_stream.CallbackStreamer`); a cancel flag checked after every token ends a generation at once. A config
with ``stage: rm`` loads the model with its value head and scores texts instead of chatting.
"""

import asyncio
from collections.abc import AsyncGenerator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .engine import ChatEngine, Generation, Request
from .errors import RequestError
from .handoff import Handoff, Worker
from .prompt import PromptBuilder
from .settings import base_settings

if TYPE_CHECKING:
    from lmf_engine.config import Config

    from .hf_stream import GenerateCall

_DONE = object()


class HuggingfaceEngine(ChatEngine):
    """The config's model in this process (``infer_backend: huggingface``)."""

    name = "huggingface"

    def __init__(self, config: "Config") -> None:
        from lmf_engine.data.pipeline import template_for
        from lmf_engine.data.templates import stop_token_ids
        from lmf_engine.model.loader import load_model
        from lmf_engine.model.tokenizer import load_tokenizer

        from .hf_stream import Generator

        super().__init__(base_settings(config))
        self.can_score = config.finetuning.stage == "rm"
        self.can_generate = not self.can_score
        self.tokenizer = load_tokenizer(config)
        self.tokenizer.padding_side = "left" if self.can_generate else "right"
        self.template = template_for(config, self.tokenizer)
        self.model = load_model(config, self.tokenizer, is_trainable=False, add_valuehead=self.can_score)
        self.stop_ids = [i for i in stop_token_ids(self.template, self.tokenizer) if i is not None]
        self.model_name = Path(str(config.get("model_name_or_path"))).name
        self.context_length = getattr(self.model.config, "max_position_embeddings", None)
        self.prompts = PromptBuilder(self.template, self.tokenizer, self.context_length)
        self._generator = Generator(self.model, self.tokenizer)
        self._worker = Worker("lmf-generate")

    @property
    def device(self) -> Any:
        return self._generator.device

    def request(self, messages: Any, system: str | None = None, tools: str | None = None, **gen: Any) -> Request:
        request = super().request(messages, system, tools, **gen)
        request.prompt_ids = self.prompts.ids(request)
        return request

    async def _generate(self, request: Request, generation: Generation, stream: bool) -> AsyncGenerator[str, None]:
        handoff = Handoff()

        def post(item: Any) -> None:
            if not handoff.post(item):  # the consumer's loop is gone: nobody is listening any more
                generation.cancel()

        prompt = request.prompt_ids or []
        call = self._generator.prepare(
            prompt, request.settings, self.stop_ids, generation.cancel_event, post if stream else None
        )
        self._worker.submit(lambda: self._work(call, request, generation, post))
        while True:
            text: list[str] = []
            for item in await handoff.take():
                if item is _DONE or isinstance(item, BaseException):
                    if text:
                        yield "".join(text)
                    if item is _DONE:
                        return
                    raise item
                text.append(item)
            yield "".join(text)

    def _work(
        self, call: "GenerateCall", request: Request, generation: Generation, post: Callable[[Any], None]
    ) -> None:
        """Generate in the worker thread and fill in ``generation``; the end (or an error) goes to ``post``."""
        try:
            if generation.cancelled:
                generation.finish_reason = "cancelled"
                return
            ids = self._generator.run(call)
            generation.prompt_tokens, generation.completion_tokens = call.prompt_length, len(ids)
            skip_special = request.settings["skip_special_tokens"]
            generation.raw_text = self.tokenizer.decode(ids, skip_special_tokens=skip_special)
            if generation.cancelled:
                generation.finish_reason = "cancelled"
            elif ids and ids[-1] in self.stop_ids:
                generation.finish_reason = "stop"
            else:
                generation.finish_reason = "length"
        except Exception as exc:
            post(exc)
        finally:
            post(_DONE)

    async def score(self, texts: Sequence[str], max_length: int | None = None) -> list[float]:
        """The value head's score of each text at its last token (LLaMA-Factory's ``get_scores``)."""
        if not self.can_score:
            return await super().score(texts, max_length)
        if not texts:
            raise RequestError("messages must hold at least one text to score", "messages")
        async with self._queue_lock():
            return await asyncio.wrap_future(self._worker.call(self._score, list(texts), max_length))

    def _score(self, texts: list[str], max_length: int | None) -> list[float]:
        import torch

        with torch.inference_mode():
            inputs = self.tokenizer(
                texts,
                padding=True,
                truncation=True,
                max_length=max_length or self.context_length or 1024,
                return_tensors="pt",
                add_special_tokens=False,
            ).to(self.device)
            values = self.model(**inputs, return_dict=True, use_cache=False)[-1]
            last = inputs["attention_mask"].sum(dim=-1, keepdim=True) - 1
            return values.gather(dim=-1, index=last).squeeze(-1).float().tolist()

    async def aclose(self) -> None:
        """Stop the current generation and let the worker thread go."""
        self.stop()
        self._worker.close()
