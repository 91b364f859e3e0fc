"""Inference: one engine interface (``chat``, ``stream_chat``, ``stop``) over transformers, vLLM and any
OpenAI-compatible server, plus the terminal chat REPL.

Nothing here imports torch until a transformers or vLLM engine is created.
"""

from .engine import ChatEngine, ChatStream, FinishReason, Generation, Request, Response
from .errors import BackendUnavailable, ChatError, RequestError
from .factory import create_engine

__all__ = [
    "BackendUnavailable",
    "ChatEngine",
    "ChatError",
    "ChatStream",
    "FinishReason",
    "Generation",
    "Request",
    "RequestError",
    "Response",
    "create_engine",
]
