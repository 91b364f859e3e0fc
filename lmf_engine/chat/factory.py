"""Choosing and starting a back end for a config."""

from typing import TYPE_CHECKING

from .engine import ChatEngine
from .settings import base_settings, generating_keys

if TYPE_CHECKING:
    from lmf_engine.config import Config


def create_engine(
    config: "Config | None" = None,
    *,
    openai_base_url: str | None = None,
    api_key: str | None = None,
    model: str | None = None,
) -> ChatEngine:
    """The engine for a config: an OpenAI-compatible server when ``openai_base_url`` is given, else the config's
    ``infer_backend`` (huggingface, vllm, or an SGLang server it starts). Loading errors a user can cause are
    :class:`ChatError`, :class:`~lmf_engine.model.errors.ModelLoadError` or :class:`~lmf_engine.config.ConfigError`.
    """
    from lmf_engine.config import Config

    if openai_base_url:
        from .openai_engine import OpenAIEngine

        config = config or Config()
        explicit = [key for key in config.explicit if key in generating_keys()]
        return OpenAIEngine(openai_base_url, base_settings(config), api_key=api_key, model=model, explicit=explicit)
    if config is None:
        raise ValueError("a config is needed unless an OpenAI-compatible server is named")
    if config.model.infer_backend == "vllm":
        from .vllm_engine import VllmEngine

        return VllmEngine(config)
    if config.model.infer_backend == "sglang":
        from .sglang_engine import SGLangEngine

        return SGLangEngine(config)
    from .hf_engine import HuggingfaceEngine

    return HuggingfaceEngine(config)
