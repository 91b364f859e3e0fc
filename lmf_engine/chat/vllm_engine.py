"""The vLLM back end (extra ``vllm``, GPU machines): same interface, prompts built by the run's template.

The engine arguments, sampling parameters and LoRA request are built by plain functions (tested without vLLM);
vLLM itself is imported only when the engine starts. A LoRA adapter is served through a LoRA request, as
LLaMA-Factory serves it; vLLM applies one adapter per request, so several adapters must be merged first.
"""

import uuid
from collections.abc import AsyncGenerator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmf_engine.model import vllm_args

from .engine import ChatEngine, FinishReason, Generation, Request
from .errors import BackendUnavailable, ChatError, RequestError
from .prompt import PromptBuilder
from .settings import SEED, STOP, base_settings

if TYPE_CHECKING:
    from lmf_engine.config import Config
    from lmf_engine.data.example import Message
    from lmf_engine.data.multimodal import MediaEncoder

FINISH_REASONS: dict[str, FinishReason] = {"length": "length", "abort": "cancelled"}
"""vLLM's finish reasons that are not ``stop``."""


def require_vllm() -> None:
    """:class:`BackendUnavailable` with what to do when the ``vllm`` package is not installed."""
    try:
        vllm_args.require_vllm()
    except vllm_args.VllmMissing as exc:
        raise BackendUnavailable(str(exc)) from None


def engine_args(config: "Config", vllm_version: str, device_count: int) -> dict[str, Any]:
    """``AsyncEngineArgs`` keywords for a config (see :mod:`lmf_engine.model.vllm_args`)."""
    try:
        return vllm_args.engine_args(config, vllm_version, device_count)
    except vllm_args.VllmSetupError as exc:
        raise ChatError(str(exc)) from None


def lora_request_args(config: "Config") -> tuple[str, int, str] | None:
    """``(name, id, path)`` of the LoRA request for ``adapter_name_or_path``, or None without adapters."""
    try:
        return vllm_args.lora_request_args(config)
    except vllm_args.VllmSetupError as exc:
        raise ChatError(str(exc)) from None


def sampling_kwargs(settings: Mapping[str, Any], prompt_length: int, stop_ids: Sequence[int]) -> dict[str, Any]:
    """``SamplingParams`` keywords for resolved settings, as LLaMA-Factory's vLLM engine builds them."""
    if settings.get("max_new_tokens"):
        max_tokens = settings["max_new_tokens"]
    else:
        max_length = settings["max_length"]
        max_tokens = max_length - prompt_length if max_length > prompt_length else 1
    temperature = settings["temperature"] if settings["do_sample"] else 0.0
    kwargs: dict[str, Any] = {
        "n": 1,
        "repetition_penalty": settings["repetition_penalty"] or 1.0,
        "temperature": temperature,
        "top_p": settings["top_p"] or 1.0,
        "top_k": settings["top_k"] or -1,
        "stop": settings.get(STOP),
        "stop_token_ids": list(stop_ids),
        "max_tokens": max_tokens,
        "skip_special_tokens": settings["skip_special_tokens"],
    }
    if settings.get(SEED) is not None:
        kwargs["seed"] = settings[SEED]
    return kwargs


def vllm_image_inputs(messages: list["Message"], images: list[Any], media: "MediaEncoder") -> tuple[list, dict]:
    """Messages with one image token per image (vLLM expands them itself) and vLLM's ``multi_modal_data``: the
    images resized as LLaMA-Factory's vLLM engine resizes them."""
    from lmf_engine.data.multimodal import Media, MediaUnsupported

    plugin = media.plugin
    assert plugin is not None
    try:
        messages = plugin.expand(messages, Media(images=images), media.processor, expand_tokens=False)
        data = {"image": plugin.regularized_images(images, media.processor)}
    except (MediaUnsupported, OSError, ValueError) as exc:
        raise RequestError(f"cannot use the images: {exc}", "messages") from None
    return messages, {"multi_modal_data": data}


class VllmEngine(ChatEngine):
    """The config's model served by vLLM's async engine (``infer_backend: vllm``)."""

    name = "vllm"

    def __init__(self, config: "Config") -> None:
        require_vllm()
        if config.finetuning.stage == "rm":
            raise BackendUnavailable("infer_backend: vllm only generates; score a reward model with huggingface")
        import vllm
        from vllm import AsyncEngineArgs, AsyncLLMEngine
        from vllm.lora.request import LoRARequest

        from lmf_engine.data.pipeline import template_for
        from lmf_engine.data.templates import stop_token_ids
        from lmf_engine.model.tokenizer import load_tokenizer

        super().__init__(base_settings(config))
        self.tokenizer = load_tokenizer(config)
        self.tokenizer.padding_side = "left"
        self.template = template_for(config, self.tokenizer)
        self.stop_ids = [i for i in stop_token_ids(self.template, self.tokenizer) if i is not None]
        self.context_length = config.get("vllm_maxlen")
        self.prompts = PromptBuilder(self.template, self.tokenizer, self.context_length)
        self.model_name = Path(str(config.get("model_name_or_path"))).name
        lora = lora_request_args(config)
        self.lora_request = LoRARequest(*lora) if lora else None
        args = engine_args(config, vllm.__version__, vllm_args.device_count())
        self.media = None
        if self.template.multimodal is not None:
            from lmf_engine.data.pipeline import media_encoder

            self.media = media_encoder(config, self.template)
            self.takes_images = self.media.plugin is not None and "images" in self.media.plugin.kinds
        self.model = AsyncLLMEngine.from_engine_args(AsyncEngineArgs(**args))

    def request(self, messages: Any, system: str | None = None, tools: str | None = None, **gen: Any) -> Request:
        request = super().request(messages, system, tools, **gen)
        if request.images:
            assert self.media is not None
            request.messages, request.model_inputs = vllm_image_inputs(request.messages, request.images, self.media)
        request.prompt_ids = self.prompts.ids(request)
        return request

    async def _generate(self, request: Request, generation: Generation, stream: bool) -> AsyncGenerator[str, None]:
        from vllm import SamplingParams

        prompt = request.prompt_ids or []
        params = SamplingParams(**sampling_kwargs(request.settings, len(prompt), self.stop_ids))
        request_id = f"chatcmpl-{uuid.uuid4().hex}"
        outputs = self.model.generate(
            {"prompt_token_ids": prompt, **request.model_inputs},
            sampling_params=params,
            request_id=request_id,
            lora_request=self.lora_request,
        )
        generation.prompt_tokens = len(prompt)
        sent = ""
        async for result in outputs:
            output = result.outputs[0]
            generation.raw_text, generation.completion_tokens = output.text, len(output.token_ids)
            if stream and len(output.text) > len(sent):
                yield output.text[len(sent) :]
                sent = output.text
            if output.finish_reason is not None:
                generation.finish_reason = FINISH_REASONS.get(output.finish_reason, "stop")
            if generation.cancelled:
                await self.model.abort(request_id)
                generation.finish_reason = "cancelled"
                break
