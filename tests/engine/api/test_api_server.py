"""The API over a scripted back end: routes, errors, auth, streaming, tools, queueing, disconnects."""

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fixtures.scripted_engine import ScriptedEngine

from lmf_engine.api import auth
from lmf_engine.api.server import ServerThread
from lmf_engine.data.templates import get_template

USER = [{"role": "user", "content": "Hi"}]
Serve = Callable[..., ServerThread]


def _events(response: httpx.Response) -> list[Any]:
    lines = [line.removeprefix("data: ") for line in response.iter_lines() if line.startswith("data: ")]
    return [line if line == "[DONE]" else json.loads(line) for line in lines]


def test_models_lists_the_served_model(serve: Serve) -> None:
    server = serve(ScriptedEngine(), model_name="my-model")
    body = httpx.get(f"{server.url}/v1/models").json()
    assert body["object"] == "list"
    assert [card["id"] for card in body["data"]] == ["my-model"]


def test_a_completion_with_usage(serve: Serve) -> None:
    server = serve(ScriptedEngine())
    body = httpx.post(f"{server.url}/v1/chat/completions", json={"model": "m", "messages": USER}).json()
    assert body["object"] == "chat.completion" and body["model"] == "m"
    assert body["choices"][0]["message"]["content"] == "Hello, world"
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"] == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}


def test_n_answers(serve: Serve) -> None:
    server = serve(ScriptedEngine())
    body = httpx.post(f"{server.url}/v1/chat/completions", json={"messages": USER, "n": 2}).json()
    assert [c["index"] for c in body["choices"]] == [0, 1]
    assert body["usage"]["completion_tokens"] == 6


def test_the_api_key_guards_every_request(serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[bytes] = []
    real = auth.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append(a)
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    server = serve(ScriptedEngine(), api_key="s3cret")
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"}):
        for method, path in (("GET", "/v1/models"), ("POST", "/v1/chat/completions"), ("GET", "/nowhere")):
            response = httpx.request(method, f"{server.url}{path}", headers=headers, json={"messages": USER})
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "invalid_api_key"
    good = {"Authorization": "Bearer s3cret"}
    assert httpx.get(f"{server.url}/v1/models", headers=good).status_code == 200
    assert httpx.post(f"{server.url}/v1/chat/completions", headers=good, json={"messages": USER}).status_code == 200
    assert b"s3cret" in compared and b"wrong" in compared


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        (b"[1, 2]", None),
        (b"", None),
        ({"messages": []}, "messages"),
        ({"messages": "Hi"}, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages.0.role"),
        ({"messages": [{"role": "assistant", "content": "x"}]}, "messages"),
        ({"messages": [*USER, {"role": "assistant", "content": "a"}]}, "messages"),
        ({"messages": [*USER, {"role": "user", "content": "b"}]}, "messages"),
        ({"messages": [*USER, {"role": "system", "content": "late"}]}, "messages"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "messages"),
        ({"messages": [{"role": "user", "content": None}]}, "messages"),
        ({"messages": [{"role": "user"}]}, "messages"),
        ({"messages": [{"role": "system", "content": None}, *USER]}, "messages"),
        ({"messages": [*USER, {"role": "assistant", "content": None}, *USER]}, "messages"),
        ({"messages": USER, "n": 2, "stream": True}, "n"),
        ({"messages": USER, "n": 0}, "n"),
        ({"messages": USER, "max_tokens": 0}, "max_tokens"),
        ({"messages": USER, "max_tokens": -5, "stream": True}, "max_tokens"),
        ({"messages": USER, "max_tokens": 10**7}, "max_tokens"),
        ({"messages": USER, "temperature": 3}, "temperature"),
        ({"messages": USER, "top_p": 0}, "top_p"),
        ({"messages": USER, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"messages": USER, "tools": [{"type": "function", "function": {"name": ""}}]}, "tools.0.function.name"),
    ],
)
def test_bad_requests_are_4xx_with_an_openai_error_body(serve: Serve, body: Any, param: str | None) -> None:
    engine = ScriptedEngine(context_length=4096)
    server = serve(engine)
    url = f"{server.url}/v1/chat/completions"
    if isinstance(body, bytes):
        response = httpx.post(url, content=body, headers={"Content-Type": "application/json"})
    else:
        response = httpx.post(url, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and error["message"]
    assert error["param"] == param
    assert engine.requests == []


def test_unknown_routes_and_methods(serve: Serve) -> None:
    server = serve(ScriptedEngine())
    missing = httpx.get(f"{server.url}/v2/nothing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert httpx.delete(f"{server.url}/v1/models").status_code == 405
    assert httpx.post(f"{server.url}/v1/score/evaluation", json={"messages": ["a"]}).status_code == 405


def test_streaming_sends_role_content_finish_and_done(serve: Serve) -> None:
    server = serve(ScriptedEngine(["a", "b", "c", "d"]))
    body = {"messages": USER, "stream": True, "max_tokens": 2, "stream_options": {"include_usage": True}}
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _events(response)
    assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [e["choices"][0]["delta"]["content"] for e in events[1:3]] == ["a", "b"]
    assert events[3]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "length"}
    assert events[4]["choices"] == [] and events[4]["usage"]["completion_tokens"] == 2
    assert events[5] == "[DONE]" and len(events) == 6
    assert all(e["object"] == "chat.completion.chunk" for e in events[:5])
    assert len({e["id"] for e in events[:5]}) == 1


def test_streamed_finish_reason_is_stop_at_a_stop_string(serve: Serve) -> None:
    server = serve(ScriptedEngine(["a", "b", "c"]))
    body = {"messages": USER, "stream": True, "stop": "b"}
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body) as response:
        events = _events(response)
    assert [e["choices"][0]["delta"].get("content") for e in events[1:-2]] == ["a"]
    assert events[-2]["choices"][0]["finish_reason"] == "stop"


def test_reasoning_goes_to_reasoning_content(serve: Serve) -> None:
    chunks = ["<think>\nAdd", " them.\n</think>\n\n", "4"]
    server = serve(ScriptedEngine(chunks, template=get_template("qwen3")))
    message = httpx.post(f"{server.url}/v1/chat/completions", json={"messages": USER}).json()["choices"][0]["message"]
    assert (message["reasoning_content"], message["content"]) == ("Add them.", "4")
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", json={"messages": USER, "stream": True}) as r:
        deltas = [e["choices"][0]["delta"] for e in _events(r)[1:-2]]
    assert "".join(d.get("reasoning_content", "") for d in deltas) == "Add them."
    assert "".join(d.get("content", "") for d in deltas) == "4"


TOOLS = [{"type": "function", "function": {"name": "weather", "description": "Weather", "parameters": {}}}]
CALL = '<tool_call>\n{"name": "weather", "arguments": {"city": "Paris"}}\n</tool_call>'


def test_tool_calls_with_and_without_streaming(serve: Serve) -> None:
    engine = ScriptedEngine([CALL], template=get_template("qwen"))
    server = serve(engine)
    body = {"messages": USER, "tools": TOOLS}
    choice = httpx.post(f"{server.url}/v1/chat/completions", json=body).json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert (call["type"], call["function"]) == ("function", {"name": "weather", "arguments": '{"city": "Paris"}'})
    assert call["id"].startswith("call_")
    assert json.loads(engine.requests[-1].tools) == [TOOLS[0]["function"]]
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", json={**body, "stream": True}) as response:
        events = _events(response)
    assert events[1]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] == "weather"
    assert events[1]["choices"][0]["delta"]["tool_calls"][0]["index"] == 0
    assert events[2]["choices"][0]["finish_reason"] == "tool_calls"


def test_tool_history_reaches_the_engine_as_function_and_observation(serve: Serve) -> None:
    engine = ScriptedEngine(["It is sunny."], template=get_template("qwen"))
    server = serve(engine)
    call = {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}
    messages = [
        *USER,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]
    response = httpx.post(f"{server.url}/v1/chat/completions", json={"messages": messages, "tools": TOOLS})
    assert response.json()["choices"][0]["message"]["content"] == "It is sunny."
    sent = engine.requests[-1].messages
    assert [m.role for m in sent] == ["user", "function", "observation"]
    assert json.loads(sent[1].content) == [{"name": "weather", "arguments": {"city": "Paris"}}]


def test_concurrent_requests_are_queued(serve: Serve) -> None:
    engine = ScriptedEngine(["a", "b", "c"], delay=0.02)
    server = serve(engine)

    async def one(client: httpx.AsyncClient, stream: bool) -> str:
        response = await client.post("/v1/chat/completions", json={"messages": USER, "stream": stream})
        assert response.status_code == 200
        return response.text

    async def run() -> list[str]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            return await asyncio.gather(*(one(client, i % 2 == 0) for i in range(6)))

    results = asyncio.run(run())
    assert len(results) == 6 and all(r.endswith("data: [DONE]\n\n") for r in results[::2])
    assert engine.max_active == 1 and engine.completed == 6


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_a_client_that_leaves_mid_stream_stops_its_generation(serve: Serve) -> None:
    engine = ScriptedEngine(["x"] * 100_000, delay=0.002)
    server = serve(engine)
    with (
        httpx.Client(base_url=server.url) as client,
        client.stream("POST", "/v1/chat/completions", json={"messages": USER, "stream": True}) as response,
    ):
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
    assert _wait_for(lambda: engine.interrupted == 1)
    assert engine.active == 0
    engine.chunks = ["done"]
    body = httpx.post(f"{server.url}/v1/chat/completions", json={"messages": USER}, timeout=10).json()
    assert body["choices"][0]["message"]["content"] == "done"


def test_a_client_that_leaves_while_queued_never_starts(serve: Serve) -> None:
    engine = ScriptedEngine(["x"] * 300, delay=0.005)
    server = serve(engine)

    async def run() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            first = asyncio.create_task(client.post("/v1/chat/completions", json={"messages": USER}))
            await asyncio.sleep(0.2)
            second = asyncio.create_task(client.post("/v1/chat/completions", json={"messages": USER, "stream": True}))
            await asyncio.sleep(0.2)
            second.cancel()
            await first

    asyncio.run(run())
    time.sleep(0.3)
    assert engine.completed == 1 and len(engine.requests) == 1
