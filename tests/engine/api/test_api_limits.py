"""API memory bounds: request bodies over the limit get 413 before parsing; the prompt cache is bounded by bytes
and never keeps a prompt it refused."""

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fixtures.scripted_engine import ScriptedEngine

from lmf_engine.api.server import ServerThread
from lmf_engine.chat.engine import Request
from lmf_engine.chat.errors import RequestError
from lmf_engine.chat.prompt import PromptBuilder
from lmf_engine.data.example import Message
from lmf_engine.data.templates import ElementEncoder, get_template

Serve = Callable[..., ServerThread]


def _body(size: int) -> bytes:
    return json.dumps({"messages": [{"role": "user", "content": "x" * size}]}).encode()


def test_a_body_over_the_limit_gets_413_declared_or_chunked(serve: Serve) -> None:
    engine = ScriptedEngine()
    server = serve(engine, max_body_bytes=64 * 1024)
    url = f"{server.url}/v1/chat/completions"
    small = httpx.post(url, content=_body(1000), headers={"content-type": "application/json"})
    assert small.status_code == 200
    big = httpx.post(url, content=_body(100_000), headers={"content-type": "application/json"})
    assert big.status_code == 413
    assert big.json()["error"]["code"] == "request_too_large" and "64 KB" not in big.text

    def chunks() -> Iterator[bytes]:
        body = _body(200_000)
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    chunked = httpx.post(url, content=chunks(), headers={"content-type": "application/json"})
    assert chunked.status_code == 413
    assert len(engine.requests) == 1


def test_the_limit_comes_from_the_environment(serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_MAX_BODY_MB", "0.01")
    server = serve(ScriptedEngine())
    assert httpx.post(f"{server.url}/v1/chat/completions", content=_body(20_000)).status_code == 413


def test_the_prompt_cache_is_bounded_by_bytes_and_keeps_no_refused_prompt(tiny_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    encoder = ElementEncoder(tokenizer, max_cache_bytes=20_000)
    for i in range(200):
        encoder.ids([f"distinct text number {i} " * 20])
        assert encoder.cached_bytes <= 20_000
    encoder.ids(["y" * 5_000])  # over a sixteenth of the bound: never kept
    assert "y" * 5_000 not in encoder._text
    builder = PromptBuilder(get_template("qwen"), tokenizer, context_length=64)
    builder.encoder = ElementEncoder(tokenizer)
    before = builder.encoder.cached_bytes
    with pytest.raises(RequestError, match="this model takes at most 64"):
        builder.ids(Request([Message("user", "word " * 500)], None, None, {}))
    assert builder.encoder.cached_bytes == before
    builder.ids(Request([Message("user", "short")], None, None, {}))
    assert builder.encoder.cached_bytes > before
