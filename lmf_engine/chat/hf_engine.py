"""The transformers back end: the config's model (plus adapters) generating in-process, in a worker thread.

The prompt is built as LLaMA-Factory's chat engine builds it (the conversation plus an empty assistant turn, encoded
one turn at a time by the run's template); generation stops at the template's stop words. One long-lived worker
thread runs every generation in turn (a fresh thread per answer costs torch several milliseconds before its first
token). Streaming hands text over as tokens come; a cancel flag checked after every token ends a generation at once.
A config with ``stage: rm`` loads the model with its value head and scores texts instead of chatting.
"""

import asyncio
from collections.abc import AsyncGenerator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .engine import ChatEngine, Generation, Request
from .errors import RequestError
from .handoff import Handoff
from .prompt import PromptBuilder
from .settings import SEED, STOP, base_settings

if TYPE_CHECKING:
    from lmf_engine.config import Config

_DONE = object()


class HuggingfaceEngine(ChatEngine):
    """The config's model in this process (``infer_backend: huggingface``)."""

    name = "huggingface"

    def __init__(self, config: "Config") -> None:
        from lmf_engine.data.pipeline import template_for
        from lmf_engine.data.templates import stop_token_ids
        from lmf_engine.model.loader import load_model
        from lmf_engine.model.tokenizer import load_tokenizer

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
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lmf-generate")

    @property
    def device(self) -> Any:
        return self.model.get_input_embeddings().weight.device

    def request(self, messages: Any, system: str | None = None, tools: str | None = None, **gen: Any) -> Request:
        request = super().request(messages, system, tools, **gen)
        request.prompt_ids = self.prompts.ids(request)
        return request

    async def _generate(self, request: Request, generation: Generation, stream: bool) -> AsyncGenerator[str, None]:
        handoff = Handoff()

        def post(item: Any) -> None:
            final = item is _DONE or isinstance(item, BaseException)
            if not handoff.post(item, urgent=final):  # the consumer's loop is gone: nobody is listening any more
                generation.cancel()

        self._worker.submit(self._work, request, generation, stream, post)
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

    def _work(self, request: Request, generation: Generation, stream: bool, post: Callable[[Any], None]) -> None:
        try:
            if generation.cancelled:
                generation.finish_reason = "cancelled"
                return
            self._run_generate(request, generation, post if stream else None)
        except Exception as exc:
            post(exc)
        finally:
            post(_DONE)

    def _run_generate(self, request: Request, generation: Generation, emit: Callable[[str], None] | None) -> None:
        import torch
        from transformers import GenerationConfig, StoppingCriteriaList, set_seed

        from .hf_stream import CallbackStreamer, CancelCriteria, StopStringsCriteria, generation_kwargs

        settings = request.settings
        skip_special = settings["skip_special_tokens"]
        kwargs = generation_kwargs(settings, self.stop_ids, self.tokenizer.pad_token_id)
        prompt = request.prompt_ids or []
        inputs = torch.tensor([prompt], device=self.device)
        extra: dict[str, Any] = {}
        if emit is not None:
            extra["streamer"] = CallbackStreamer(self.tokenizer, skip_special, emit)
        criteria: list[Any] = [CancelCriteria(generation.cancel_event)]
        if settings.get(STOP):
            criteria.append(StopStringsCriteria(self.tokenizer, settings[STOP], len(prompt)))
        if settings.get(SEED) is not None:
            set_seed(settings[SEED])
        with torch.inference_mode():
            output = self.model.generate(
                inputs=inputs,
                attention_mask=torch.ones_like(inputs),
                generation_config=GenerationConfig(**kwargs),
                stopping_criteria=StoppingCriteriaList(criteria),
                **extra,
            )
        ids = output[0, len(prompt) :].tolist()
        generation.prompt_tokens, generation.completion_tokens = len(prompt), len(ids)
        generation.raw_text = self.tokenizer.decode(ids, skip_special_tokens=skip_special)
        if generation.cancelled:
            generation.finish_reason = "cancelled"
        elif ids and ids[-1] in self.stop_ids:
            generation.finish_reason = "stop"
        else:
            generation.finish_reason = "length"

    async def score(self, texts: Sequence[str], max_length: int | None = None) -> list[float]:
        """The value head's score of each text at its last token (LLaMA-Factory's ``get_scores``)."""
        if not self.can_score:
            return await super().score(texts, max_length)
        if not texts:
            raise RequestError("messages must hold at least one text to score", "messages")
        async with self._queue_lock():
            return await asyncio.wrap_future(self._worker.submit(self._score, list(texts), max_length))

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
        self._worker.shutdown(wait=False, cancel_futures=True)
