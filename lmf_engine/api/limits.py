"""A limit on request bodies, as a plain ASGI middleware: a body over the limit gets 413 before it is parsed.

A declared ``Content-Length`` over the limit is refused before anything is read; a chunked body is counted as it
arrives and refused as soon as it passes the limit: the 413 goes out, the app is told the client went away, and
whatever it would still answer is dropped.
"""

import os

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import send_error

DEFAULT_MAX_BODY_MB = 32.0
MAX_BODY_ENV = "API_MAX_BODY_MB"


def default_max_body_bytes() -> int:
    """``$API_MAX_BODY_MB`` (default 32) in bytes; ValueError when it is not a positive number."""
    text = os.environ.get(MAX_BODY_ENV)
    megabytes = float(text) if text else DEFAULT_MAX_BODY_MB
    if not megabytes > 0:
        raise ValueError(f"{MAX_BODY_ENV} must be a positive number of megabytes, not {text!r}")
    return int(megabytes * 2**20)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    """Answers 413 with an OpenAI-style body to any request whose body is over ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _message(self) -> str:
        return f"The request body is over the server's limit of {self.max_bytes / 2**20:g} MB ({MAX_BODY_ENV})."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await send_error(send, 413, self._message())
            return
        received = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes and not started:
                    refused = True
                    await send_error(send, 413, self._message())
                    return {"type": "http.disconnect"}
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, watched)
