"""Running the API with uvicorn: in the foreground (``lmf-engine api``) or in a thread (tests, benchmarks)."""

import os
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

from lmf_engine.util.net import free_port

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def default_host() -> str:
    """``API_HOST`` or loopback: the API is only reachable from this machine unless asked otherwise."""
    return os.environ.get("API_HOST") or DEFAULT_HOST


def default_port() -> int:
    """``API_PORT`` or 8000."""
    value = os.environ.get("API_PORT")
    return int(value) if value else DEFAULT_PORT


def make_server(app: Any, host: str, port: int, log_level: str = "info") -> uvicorn.Server:
    """A uvicorn server for ``app`` (one process; the engine serialises generations itself)."""
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=5)
    return uvicorn.Server(config)


class ServerThread:
    """Serves ``app`` on ``host:port`` in a daemon thread while the ``with`` block runs; ``url`` is its root."""

    def __init__(self, app: Any, host: str = DEFAULT_HOST, port: int | None = None, log_level: str = "warning"):
        self.host = host
        self.port = port or free_port(host)
        self.server = make_server(app, self.host, self.port, log_level)
        self._thread = threading.Thread(target=self.server.run, name="lmf-api", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> "ServerThread":
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the API server did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=15)

    def __enter__(self) -> "ServerThread":
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
