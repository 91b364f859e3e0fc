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
import gc
import inspect
import sys
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
    from lmf_engine.data.templates import Template

    from .hf_stream import GenerateCall, Generator

DONE = object()
"""The last item a generation posts to its :class:`Handoff` (after its text, or an error)."""


def load_text_side(config: "Config", padding_side: str = "left") -> tuple[Any, "Template", list[int]]:
    """The config's tokenizer (fixed in place by its template), its template, and the template's stop token ids."""
    from lmf_engine.data.pipeline import template_for
    from lmf_engine.data.templates import stop_token_ids
    from lmf_engine.model.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(config)
    tokenizer.padding_side = padding_side
    template = template_for(config, tokenizer)
    return tokenizer, template, [i for i in stop_token_ids(template, tokenizer) if i is not None]


async def handoff_texts(handoff: Handoff) -> AsyncGenerator[str, None]:
    """The text a generation posts to ``handoff``, joined per wake-up, until :data:`DONE` (an error is raised)."""
    while True:
        text: list[str] = []
        for item in await handoff.take():
            if item is DONE or isinstance(item, BaseException):
                if text:
                    yield "".join(text)
                if item is DONE:
                    return
                raise item
            text.append(item)
        yield "".join(text)


def finish_generation(
    generation: Generation, ids: list[int], prompt_tokens: int, tokenizer: Any, stop_ids: Sequence[int], skip: bool
) -> None:
    """Fill in ``generation`` from its new token ``ids``: counts, text (``skip``: without special tokens), reason."""
    generation.prompt_tokens, generation.completion_tokens = prompt_tokens, len(ids)
    generation.raw_text = tokenizer.decode(ids, skip_special_tokens=skip)
    if generation.cancelled:
        generation.finish_reason = "cancelled"
    elif ids and ids[-1] in stop_ids:
        generation.finish_reason = "stop"
    else:
        generation.finish_reason = "length"


async def close_worker(worker: Worker) -> None:
    """Wait until ``worker`` has run what was queued (a cancelled generation ends at its next token), then close it."""
    await asyncio.wrap_future(worker.call(lambda: None))
    worker.close()


def release_memory() -> None:
    """Give the memory of dropped models back: collect reference cycles and empty the CUDA cache (with a GPU)."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        gc.collect()
        torch.cuda.empty_cache()


class HuggingfaceEngine(ChatEngine):
    """The config's model in this process (``infer_backend: huggingface``)."""

    name = "huggingface"

    def __init__(self, config: "Config") -> None:
        from lmf_engine.model.loader import load_model

        from .hf_stream import Generator

        super().__init__(base_settings(config))
        self.can_score = config.finetuning.stage == "rm"
        self.can_generate = not self.can_score
        self.tokenizer, self.template, self.stop_ids = load_text_side(config, "left" if self.can_generate else "right")
        self.model: Any = load_model(config, self.tokenizer, is_trainable=False, add_valuehead=self.can_score)
        self.model_name = Path(str(config.get("model_name_or_path"))).name
        self.context_length = getattr(self.model.config, "max_position_embeddings", None)
        self.prompts = PromptBuilder(self.template, self.tokenizer, self.context_length)
        self.media = None
        if self.template.multimodal is not None:
            from lmf_engine.data.pipeline import media_encoder

            self.media = media_encoder(config, self.template)
            self.takes_images = self.media.plugin is not None and "images" in self.media.plugin.kinds
        self._generator: Generator | None = Generator(self.model, self.tokenizer)
        self._worker = Worker("lmf-generate")

    @property
    def device(self) -> Any:
        assert self._generator is not None, "the engine is closed"
        return self._generator.device

    def request(self, messages: Any, system: str | None = None, tools: str | None = None, **gen: Any) -> Request:
        request = super().request(messages, system, tools, **gen)
        if request.images:
            self._expand_images(request)
        request.prompt_ids = self.prompts.ids(request)
        if request.images:
            self._add_image_inputs(request)
        return request

    def _expand_images(self, request: Request) -> None:
        """Expand the image placeholders, as training does."""
        from lmf_engine.data.multimodal import Media, MediaUnsupported

        assert self.media is not None and self.media.plugin is not None
        try:
            request.messages = self.media.plugin.expand(
                request.messages, Media(images=request.images), self.media.processor
            )
        except (MediaUnsupported, OSError, ValueError) as exc:
            raise RequestError(f"cannot use the images: {exc}", "messages") from None

    def _add_image_inputs(self, request: Request) -> None:
        """The plugin's ids before the prompt (PaliGemma's) and the model's image inputs for the prompt: pixels,
        token types, mllama's cross-attention mask, Qwen-VL's ``mm_token_type_ids``."""
        import torch

        from lmf_engine.data.multimodal import Media, MediaBatch

        assert self.media is not None and self.media.plugin is not None and request.prompt_ids is not None
        plugin, processor = self.media.plugin, self.media.processor
        media = Media(images=request.images)
        prefix = plugin.prefix(media, processor)
        if prefix:
            request.prompt_ids = self.tokenizer.convert_tokens_to_ids(prefix) + request.prompt_ids
        batch = MediaBatch(media, [request.prompt_ids], [len(request.images)])
        try:
            request.model_inputs = plugin.batch_inputs(batch, processor, self.tokenizer)
        except (OSError, ValueError) as exc:
            raise RequestError(f"cannot use the images: {exc}", "messages") from None
        image_id = self.tokenizer.convert_tokens_to_ids(plugin.tokens.image)
        types = plugin.token_types(request.prompt_ids, len(request.images), image_id, processor)
        if types is not None:
            request.model_inputs["token_type_ids"] = torch.tensor([types])
        if "mm_token_type_ids" in inspect.signature(self.model.forward).parameters:
            from lmf_engine.model.composite import media_token_types

            ids = torch.tensor([request.prompt_ids])
            request.model_inputs["mm_token_type_ids"] = media_token_types(ids, self.model.config)

    async def _generate(self, request: Request, generation: Generation, stream: bool) -> AsyncGenerator[str, None]:
        handoff = Handoff()

        def post(item: Any) -> None:
            if not handoff.post(item):  # the consumer's loop is gone: nobody is listening any more
                generation.cancel()

        generator = self._generator
        assert generator is not None, "the engine is closed"
        prompt = request.prompt_ids or []
        call = generator.prepare(
            prompt,
            request.settings,
            self.stop_ids,
            generation.cancel_event,
            post if stream else None,
            self.stream_interval,
            request.model_inputs,
        )
        self._worker.submit(lambda: self._work(generator, call, request, generation, post))
        async for text in handoff_texts(handoff):
            yield text

    def _work(
        self,
        generator: "Generator",
        call: "GenerateCall",
        request: Request,
        generation: Generation,
        post: Callable[[Any], None],
    ) -> None:
        """Generate in the worker thread and fill in ``generation``; the end (or an error) goes to ``post``."""
        try:
            if generation.cancelled:
                generation.finish_reason = "cancelled"
                return
            ids = generator.run(call)
            skip = request.settings["skip_special_tokens"]
            finish_generation(generation, ids, call.prompt_length, self.tokenizer, self.stop_ids, skip)
        except Exception as exc:
            post(exc)
        finally:
            post(DONE)

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
        """Stop the current generation, let the worker thread go and drop the model (its GPU memory is freed).

        The engine cannot generate or score afterwards.
        """
        self.stop()
        if self._generator is None:
            return
        await close_worker(self._worker)
        self.model = self._generator = None
        release_memory()
