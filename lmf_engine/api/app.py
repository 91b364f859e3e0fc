"""The OpenAI-compatible HTTP API over one chat engine (LLaMA-Factory's ``api/app.py`` routes).

    GET  /v1/models               the served model
    POST /v1/chat/completions     answers, streamed (SSE) or not, with tools and usage counts
    POST /v1/score/evaluation     reward scores of texts (models loaded with ``stage: rm``)

Requests wait their turn: the engine generates one answer at a time. With an API key every request must carry it.
"""

import asyncio
import os
from collections.abc import Awaitable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware

from lmf_engine.chat.engine import ChatEngine

from .auth import APIKeyMiddleware
from .convert import completion_id, engine_messages, engine_tools, finish_reason, generation_settings, tool_calls
from .errors import APIError, install_error_handlers
from .limits import BodyLimitMiddleware, default_max_body_bytes
from .protocol import (
    AnswerMessage,
    ChatCompletionRequest,
    ChatCompletionResponse,
    Choice,
    ModelCard,
    ModelList,
    ScoreEvaluationRequest,
    ScoreEvaluationResponse,
    Usage,
)
from .streaming import EventStreamResponse, chat_events

T = TypeVar("T")
DISCONNECT_POLL_S = 0.25


async def _while_connected(http: Request, work: Awaitable[T]) -> T:
    """Run ``work``, cancelling it (and so its generation) if the client goes away first."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=DISCONNECT_POLL_S)
            if done:
                return task.result()
            if await http.is_disconnected():
                raise APIError(499, "the client closed the request")
    finally:
        task.cancel()


def create_app(
    engine: ChatEngine,
    *,
    api_key: str | None = None,
    model_name: str | None = None,
    cors_origins: Sequence[str] = (),
    max_body_bytes: int | None = None,
    allow_local_media: bool = False,
) -> FastAPI:
    """The API app for ``engine``. ``model_name`` (or ``API_MODEL_NAME``) is the id ``/v1/models`` lists; request
    bodies over ``max_body_bytes`` (default ``$API_MAX_BODY_MB``, 32 MB) get 413 before they are parsed. Images come
    as ``image_url`` parts with ``data:`` URLs, or with ``allow_local_media`` as paths on the server's disk."""
    model_id = model_name or os.environ.get("API_MODEL_NAME") or engine.model_name

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield
        await engine.aclose()

    app = FastAPI(title="lmf-engine API", lifespan=lifespan, root_path=os.environ.get("FASTAPI_ROOT_PATH", ""))
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes or default_max_body_bytes())
    if api_key:
        app.add_middleware(APIKeyMiddleware, api_key=api_key)
    if cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["*"], allow_headers=["*"])

    @app.get("/v1/models", response_model=ModelList)
    async def list_models() -> ModelList:
        return ModelList(data=[ModelCard(id=model_id)])

    @app.post("/v1/chat/completions", response_model=ChatCompletionResponse)
    async def create_chat_completion(body: ChatCompletionRequest, http: Request) -> Any:
        if not engine.can_generate:
            raise APIError(405, "this model is a reward model (stage: rm); use /v1/score/evaluation")
        if body.stream and body.n > 1:
            raise APIError(400, "n > 1 cannot be streamed; set n to 1 or stream to false", "n")
        messages, system, images = engine_messages(body, allow_local_media)
        tools = engine_tools(body)
        settings = generation_settings(body, engine.context_length)
        if images:
            settings["images"] = images
        model = body.model or model_id
        cid = completion_id()
        if body.stream:
            stream = engine.stream_chat(messages, system, tools, **settings)
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return EventStreamResponse(chat_events(stream, cid, model, tools is not None, include_usage))
        engine.request(messages, system, tools, **settings)  # a bad request fails before any generation
        choices: list[Choice] = []
        prompt_tokens = completion_tokens = 0
        for index in range(body.n):
            response = await _while_connected(http, engine.chat(messages, system, tools, **settings))
            message = AnswerMessage(content=response.text, reasoning_content=response.reasoning or None)
            if response.tool_calls:
                message = AnswerMessage(content=None, tool_calls=tool_calls(response.tool_calls))
            choices.append(Choice(index=index, message=message, finish_reason=finish_reason(response)))
            prompt_tokens = response.prompt_tokens
            completion_tokens += response.completion_tokens
        usage = Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        )
        return ChatCompletionResponse(id=cid, model=model, choices=choices, usage=usage)

    @app.post("/v1/score/evaluation", response_model=ScoreEvaluationResponse)
    async def create_score_evaluation(body: ScoreEvaluationRequest, http: Request) -> ScoreEvaluationResponse:
        if not engine.can_score:
            raise APIError(405, "this model is not a reward model; load one with stage: rm to score texts")
        if not body.messages:
            raise APIError(400, "messages must hold at least one text", "messages")
        scores = await _while_connected(http, engine.score(body.messages, body.max_length))
        return ScoreEvaluationResponse(
            id=f"scoreval-{completion_id()[9:]}", model=body.model or model_id, scores=scores
        )

    return app
