"""OpenAI chat requests to engine calls, and engine answers to OpenAI responses (LLaMA-Factory's ``api/chat.py``)."""

import base64
import binascii
import io
import json
import os
import re
import time
import uuid
from typing import Any

from lmf_engine.chat.engine import Response
from lmf_engine.data.media_paths import PLACEHOLDERS
from lmf_engine.data.templates import FunctionCall

from .errors import APIError
from .protocol import ChatCompletionRequest, ChatMessage, FunctionCallBody, ToolCall

ROLES = {"user": "user", "assistant": "assistant", "tool": "observation", "function": "function"}
"""OpenAI roles to LLaMA-Factory's (``system``/``developer`` only lead, as the system prompt)."""


DATA_URL = re.compile(r"^data:image/[\w.+-]+;base64,(.+)$", re.DOTALL)


def _image(url: str, index: int, allow_local: bool) -> Any:
    """An ``image_url`` part's image: a ``data:`` URL decoded, or (when the server allows it) a local file."""
    from PIL import Image, UnidentifiedImageError

    where = f"messages[{index}]: image_url"
    if match := DATA_URL.match(url):
        try:
            with Image.open(io.BytesIO(base64.b64decode(match.group(1), validate=True))) as image:
                image.load()
                return image.copy()
        except (binascii.Error, UnidentifiedImageError, OSError) as exc:
            raise APIError(400, f"{where}: the data URL is not a readable image ({exc})", "messages") from None
    if url.startswith(("http://", "https://")):
        raise APIError(400, f"{where}: images are not fetched from the web; send a data: URL", "messages")
    if not allow_local:
        raise APIError(
            400, f"{where}: local paths are off (start the server with --allow-local-media); send a data: URL",
            "messages",
        )  # fmt: skip
    if not os.path.isfile(url):
        raise APIError(400, f"{where}: no file {url!r}", "messages")
    return url


def _text(message: ChatMessage, index: int, images: list[Any], allow_local: bool) -> str:
    """The message's text; each image part becomes an ``<image>`` placeholder and its image goes to ``images``."""
    if message.content is None:
        if message.role != "assistant":
            raise APIError(400, f"messages[{index}]: a {message.role} message needs content (a text)", "messages")
        raise APIError(400, f"messages[{index}]: an assistant message needs content or tool_calls", "messages")
    if isinstance(message.content, str):
        return message.content
    parts = []
    for part in message.content:
        if part.type == "image_url" and part.image_url is not None:
            images.append(_image(part.image_url.url, index, allow_local))
            parts.append(PLACEHOLDERS["images"])
        elif part.type == "text":
            parts.append(part.text or "")
        else:
            raise APIError(
                400, f"messages[{index}]: content parts are text or image_url, not {part.type!r}", "messages"
            )
    return "".join(parts)


def _call_text(calls: list[ToolCall]) -> str:
    items = []
    for call in calls:
        try:
            arguments: Any = json.loads(call.function.arguments or "{}")
        except json.JSONDecodeError:
            arguments = call.function.arguments
        items.append({"name": call.function.name, "arguments": arguments})
    return json.dumps(items, ensure_ascii=False)


def engine_messages(
    request: ChatCompletionRequest, allow_local_media: bool = False
) -> tuple[list[dict[str, str]], str | None, list[Any]]:
    """The conversation in LLaMA-Factory's roles, the system prompt (a first system/developer message) and the
    images of its ``image_url`` parts (each at an ``<image>`` placeholder, in order).

    An assistant message with ``tool_calls`` becomes a ``function`` message holding the calls as JSON (arguments as
    objects). Order is checked by the engine.
    """
    if not request.messages:
        raise APIError(400, "messages must not be empty", "messages")
    items = list(request.messages)
    system = None
    images: list[Any] = []
    if items[0].role in ("system", "developer"):
        system = _text(items.pop(0), 0, [], allow_local=False)
    out = []
    for index, message in enumerate(items, start=0 if system is None else 1):
        if message.role in ("system", "developer"):
            raise APIError(400, f"messages[{index}]: a system message may only come first", "messages")
        if message.role == "assistant" and message.tool_calls:
            out.append({"role": "function", "content": _call_text(message.tool_calls)})
        else:
            out.append({"role": ROLES[message.role], "content": _text(message, index, images, allow_local_media)})
    return out, system, images


def engine_tools(request: ChatCompletionRequest) -> str | None:
    """The tools as the JSON text templates take (a list of function schemas), or None."""
    if not request.tools or request.tool_choice == "none":
        return None
    return json.dumps([tool.function.model_dump(exclude_unset=True) for tool in request.tools], ensure_ascii=False)


def generation_settings(request: ChatCompletionRequest, context_length: int | None) -> dict[str, Any]:
    """Per-request generation settings (None: the config's value)."""
    max_tokens = request.max_completion_tokens or request.max_tokens
    if max_tokens is not None and context_length and max_tokens >= context_length:
        param = "max_completion_tokens" if request.max_completion_tokens else "max_tokens"
        raise APIError(400, f"{param} must be below the model's context length ({context_length})", param)
    repetition = request.repetition_penalty
    if repetition is None and request.presence_penalty is not None and request.presence_penalty > 0:
        repetition = request.presence_penalty  # LLaMA-Factory passes presence_penalty as repetition_penalty
    return {
        "do_sample": request.do_sample,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "top_k": request.top_k,
        "max_new_tokens": max_tokens,
        "repetition_penalty": repetition,
        "stop": request.stop or None,
        "seed": request.seed,
        "skip_special_tokens": request.skip_special_tokens,
    }


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def tool_calls(calls: list[FunctionCall]) -> list[ToolCall]:
    """Parsed calls as OpenAI ``tool_calls`` with fresh ids."""
    return [
        ToolCall(id=f"call_{uuid.uuid4().hex}", function=FunctionCallBody(name=c.name, arguments=c.arguments))
        for c in calls
    ]


def finish_reason(response: Response) -> str:
    """OpenAI's finish reason: ``tool_calls`` when the answer is tool calls, else the engine's."""
    return "tool_calls" if response.tool_calls else response.finish_reason


def chunk(cid: str, model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    """One ``chat.completion.chunk`` with a single choice."""
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def sse(data: dict[str, Any] | str) -> str:
    """One server-sent event."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {text}\n\n"
