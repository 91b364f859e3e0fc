"""Fixtures of the API tests: real uvicorn servers on free loopback ports, over a scripted or the tiny engine."""

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "chat"))  # chat_support: tiny-model configs

from chat_support import tiny_config

from lmf_engine.api.app import create_app
from lmf_engine.api.server import ServerThread


@pytest.fixture
def serve() -> Iterator[Callable[..., ServerThread]]:
    """Start ``create_app(engine, **options)`` on a free port; every server started is stopped after the test."""
    servers: list[ServerThread] = []

    def start(engine: Any, **options: Any) -> ServerThread:
        server = ServerThread(create_app(engine, **options)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def tiny_server(tiny_model_dir: Path) -> Iterator[ServerThread]:
    """The API over the transformers engine on the tiny model."""
    from lmf_engine.chat.hf_engine import HuggingfaceEngine

    engine = HuggingfaceEngine(tiny_config(tiny_model_dir, max_new_tokens=16))
    with ServerThread(create_app(engine)) as server:
        yield server
