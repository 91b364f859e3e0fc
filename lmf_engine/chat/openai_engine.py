"""The OpenAI-compatible client back end: any ``/v1/chat/completions`` server (``lmf-engine api``, ``vllm serve``…).

Requests go out with httpx, streamed answers are read as server-sent events. Only the generation settings that the
config or the call sets are sent (the server's own defaults apply to the rest); the extensions ``top_k``,
``repetition_penalty`` and ``skip_special_tokens`` go out only then too, so strict servers do not refuse a request.
Reasoning a server sends apart (``reasoning_content``) is streamed inside thought words, like a local model's.
"""

import contextlib
import json
from collections.abc import AsyncGenerator, Iterable, Mapping
from typing import Any

from lmf_engine.data.templates import FunctionCall

from .conversation import to_openai
from .engine import ChatEngine, FinishReason, Generation, Request
from .errors import ChatError
from .sse import iter_events
from .text import DEFAULT_THOUGHT_WORDS

EXTENSIONS = ("top_k", "repetition_penalty", "skip_special_tokens")


def api_root(base_url: str) -> str:
    """``http://host:port`` or ``http://host:port/v1`` (with or without a final slash) to the ``/v1`` root."""
    root = base_url.rstrip("/")
    return root if root.endswith("/v1") else root + "/v1"


def openai_messages(request: Request) -> list[dict[str, Any]]:
    """The request's conversation in OpenAI's roles (see :func:`.conversation.to_openai`)."""
    return to_openai(request.messages, request.system)


def openai_tools(tools: str) -> list[dict[str, Any]]:
    """A tools JSON text (function schemas, wrapped or not) as OpenAI's ``tools`` list."""
    try:
        parsed = json.loads(tools)
    except json.JSONDecodeError as exc:
        raise ChatError(f"tools: not valid JSON ({exc})") from None
    items = parsed if isinstance(parsed, list) else [parsed]
    return [t if t.get("type") == "function" else {"type": "function", "function": t} for t in items]


def request_body(request: Request, model: str, stream: bool, explicit: Iterable[str] = ()) -> dict[str, Any]:
    """The JSON body of a chat completion request: only the settings the config or the call chose are sent.

    ``do_sample: false`` (or temperature 0) is sent as temperature 0; ``max_new_tokens`` as ``max_tokens``.
    """
    settings = request.settings
    chosen = set(explicit) | request.overrides
    body: dict[str, Any] = {"model": model, "messages": openai_messages(request), "stream": stream}
    if "do_sample" in chosen and not settings["do_sample"]:
        body["temperature"] = 0.0
    elif "temperature" in chosen:
        body["temperature"] = settings["temperature"]
    for key, name in (("top_p", "top_p"), ("max_new_tokens", "max_tokens"), ("seed", "seed"), ("stop", "stop")):
        if key in chosen and settings.get(key) is not None:
            body[name] = settings[key]
    body.update({key: settings[key] for key in EXTENSIONS if key in chosen})
    if request.tools:
        body["tools"] = openai_tools(request.tools)
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


def _finish(reason: str | None) -> FinishReason:
    return "length" if reason == "length" else "stop"


class OpenAIEngine(ChatEngine):
    """A remote OpenAI-compatible server. ``model`` defaults to the first model the server lists; ``extra_body``
    goes into every request as it is (a server's own extensions)."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        settings: Mapping[str, Any],
        *,
        api_key: str | None = None,
        model: str | None = None,
        explicit: Iterable[str] = (),
        timeout: float = 600.0,
        extra_body: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(settings)
        self.root = api_root(base_url)
        self.api_key = api_key
        self.model_name = model or ""
        self.explicit = frozenset(explicit)
        self.timeout = timeout
        self.extra_body = dict(extra_body or {})

    def _client(self) -> Any:
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        return httpx.AsyncClient(base_url=self.root, headers=headers, timeout=httpx.Timeout(self.timeout, connect=10))

    async def _checked(self, response: Any) -> None:
        if response.status_code < 400:
            return
        body = (await response.aread()).decode(errors="replace")
        try:
            message = json.loads(body)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = body[:300] or response.reason_phrase
        raise ChatError(f"{self.root}: HTTP {response.status_code}: {message}")

    async def _model(self, client: Any) -> str:
        if not self.model_name:
            response = await client.get("/models")
            await self._checked(response)
            models = response.json().get("data") or []
            if not models:
                raise ChatError(f"{self.root}/models lists no model; pass --model")
            self.model_name = models[0]["id"]
        return self.model_name

    async def _generate(self, request: Request, generation: Generation, stream: bool) -> AsyncGenerator[str, None]:
        import httpx

        try:
            async with self._client() as client:
                body = request_body(request, await self._model(client), stream, self.explicit) | self.extra_body
                if not stream:
                    response = await client.post("/chat/completions", json=body)
                    await self._checked(response)
                    self._read_completion(response.json(), generation)
                    return
                async with client.stream("POST", "/chat/completions", json=body) as response:
                    await self._checked(response)
                    async with contextlib.aclosing(self._read_stream(response, generation)) as texts:
                        async for text in texts:
                            yield text
        except httpx.HTTPError as exc:
            raise ChatError(f"cannot reach {self.root}: {type(exc).__name__}: {exc}") from None

    @staticmethod
    def _read_completion(data: Mapping[str, Any], generation: Generation) -> None:
        choice = data["choices"][0]
        message = choice.get("message") or {}
        generation.raw_text = message.get("content") or ""
        generation.reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
        generation.tool_calls = [
            FunctionCall(c["function"]["name"], c["function"].get("arguments") or "{}")
            for c in message.get("tool_calls") or []
        ]
        generation.finish_reason = _finish(choice.get("finish_reason"))
        usage = data.get("usage") or {}
        generation.prompt_tokens = usage.get("prompt_tokens", 0)
        generation.completion_tokens = usage.get("completion_tokens", 0)

    async def _read_stream(self, response: Any, generation: Generation) -> AsyncGenerator[str, None]:
        calls: dict[int, dict[str, str]] = {}
        in_thought = False
        parts: list[str] = []
        async for event in iter_events(response.aiter_lines()):
            if event.data.strip() == "[DONE]" or generation.cancelled:
                break
            data = json.loads(event.data)
            if "error" in data:
                raise ChatError(f"{self.root}: {data['error'].get('message', data['error'])}")
            if usage := data.get("usage"):
                generation.prompt_tokens = usage.get("prompt_tokens", 0)
                generation.completion_tokens = usage.get("completion_tokens", 0)
            for choice in data.get("choices") or []:
                delta = choice.get("delta") or {}
                text = ""
                if thought := delta.get("reasoning_content") or delta.get("reasoning"):
                    text += ("" if in_thought else DEFAULT_THOUGHT_WORDS[0]) + thought
                    in_thought = True
                if content := delta.get("content"):
                    text += (DEFAULT_THOUGHT_WORDS[1] if in_thought else "") + content
                    in_thought = False
                for call in delta.get("tool_calls") or []:
                    slot = calls.setdefault(call.get("index", 0), {"name": "", "arguments": ""})
                    function = call.get("function") or {}
                    slot["name"] += function.get("name") or ""
                    slot["arguments"] += function.get("arguments") or ""
                if choice.get("finish_reason"):
                    generation.finish_reason = _finish(choice["finish_reason"])
                if text:
                    parts.append(text)
                    yield text
        generation.raw_text = "".join(parts)
        generation.tool_calls = [FunctionCall(c["name"], c["arguments"] or "{}") for _, c in sorted(calls.items())]
        if generation.cancelled:
            generation.finish_reason = "cancelled"
        elif not generation.completion_tokens:
            generation.completion_tokens = len(parts)
