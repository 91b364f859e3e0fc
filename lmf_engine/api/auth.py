"""API-key check for every HTTP request, as a plain ASGI middleware (it does not buffer streamed answers).

The key is read from ``Authorization: Bearer KEY`` (what OpenAI clients send) and compared in constant time.
"""

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import send_error


def bearer_token(scope: Scope) -> str:
    """The bearer token of a request, or an empty string."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return ""


def key_matches(given: str, expected: str) -> bool:
    """Whether ``given`` equals ``expected``, in time that does not depend on where they differ."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


class APIKeyMiddleware:
    """Answers 401 with an OpenAI-style body unless the request carries ``api_key``."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or key_matches(bearer_token(scope), self.api_key):
            await self.app(scope, receive, send)
            return
        message = "Invalid or missing API key; send `Authorization: Bearer KEY`."
        await send_error(send, 401, message, ((b"www-authenticate", b"Bearer"),))
