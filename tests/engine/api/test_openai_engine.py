"""The OpenAI-compatible client back end, talking to a real `lmf-engine api` server on loopback."""

import time
from collections.abc import Callable

import pytest
from fixtures.scripted_engine import ScriptedEngine

from lmf_engine.api.server import ServerThread, free_port
from lmf_engine.chat import ChatError, create_engine
from lmf_engine.chat.engine import Request
from lmf_engine.chat.openai_engine import OpenAIEngine, api_root, request_body
from lmf_engine.chat.settings import base_settings
from lmf_engine.config import Config, load_config
from lmf_engine.data.example import Message
from lmf_engine.data.templates import FunctionCall, get_template

USER = [{"role": "user", "content": "Hi"}]
Serve = Callable[..., ServerThread]


def _client(server: ServerThread, **kwargs) -> OpenAIEngine:  # type: ignore[no-untyped-def]
    engine = create_engine(openai_base_url=server.url, **kwargs)
    assert isinstance(engine, OpenAIEngine)
    return engine


def test_api_root() -> None:
    assert api_root("http://h:1") == api_root("http://h:1/v1/") == "http://h:1/v1"


def test_request_body_sends_only_chosen_settings() -> None:
    settings = base_settings(Config())
    request = Request(
        [Message("user", "Hi")], "S", None, dict(settings, seed=3), overrides=frozenset({"top_k", "seed"})
    )
    body = request_body(request, "m", stream=True, explicit={"max_new_tokens"})
    assert body["messages"] == [{"role": "system", "content": "S"}, {"role": "user", "content": "Hi"}]
    assert (body["model"], body["seed"], body["top_k"], body["max_tokens"]) == ("m", 3, 50, 1024)
    assert body["stream_options"] == {"include_usage": True}
    assert not {"temperature", "top_p", "repetition_penalty", "stop"} & set(body)
    greedy = Request(
        [Message("user", "Hi")], None, None, dict(settings, do_sample=False), overrides=frozenset({"do_sample"})
    )
    body = request_body(greedy, "m", False)
    assert body["temperature"] == 0.0 and "top_k" not in body and "stream_options" not in body


def test_function_history_becomes_tool_calls() -> None:
    messages = [
        Message("user", "Weather?"),
        Message("function", '{"name": "weather", "arguments": {"city": "Paris"}}'),
        Message("observation", "sunny"),
    ]
    body = request_body(Request(messages, None, '[{"name": "weather"}]', base_settings(Config())), "m", False)
    assert body["messages"][1]["tool_calls"][0]["function"] == {"name": "weather", "arguments": '{"city": "Paris"}'}
    assert body["messages"][2] == {"role": "tool", "content": "sunny", "tool_call_id": "call_1_0"}
    assert body["tools"] == [{"type": "function", "function": {"name": "weather"}}]


async def test_chat_and_stream_through_a_server(serve: Serve) -> None:
    backend = ScriptedEngine(["Hello", ",", " world"])
    client = _client(serve(backend), api_key=None)
    response = await client.chat(USER, max_new_tokens=2)
    assert (response.text, response.finish_reason, response.completion_tokens) == ("Hello,", "length", 2)
    assert client.model_name == "scripted-model"
    stream = client.stream_chat(USER, temperature=0.2, top_k=3)
    assert [chunk async for chunk in stream] == ["Hello", ",", " world"]
    assert (stream.response.finish_reason, stream.response.prompt_tokens) == ("stop", 7)
    sent = backend.requests[-1].settings
    assert (sent["temperature"], sent["top_k"]) == (0.2, 3)


async def test_reasoning_and_tool_calls_round_trip(serve: Serve) -> None:
    thinking = ScriptedEngine(["<think>\nHmm", ".\n</think>\n\n", "Yes"], template=get_template("qwen3"))
    client = _client(serve(thinking))
    for response in (await client.chat(USER), await _streamed(client)):
        assert (response.reasoning, response.text) == ("Hmm.", "Yes")
    call = '<tool_call>\n{"name": "f", "arguments": {"x": 1}}\n</tool_call>'
    tools = '[{"name": "f", "description": "", "parameters": {}}]'
    client = _client(serve(ScriptedEngine([call], template=get_template("qwen"))))
    assert (await client.chat(USER, tools=tools)).tool_calls == [FunctionCall("f", '{"x": 1}')]
    stream = client.stream_chat(USER, tools=tools)
    assert [chunk async for chunk in stream] == []
    assert stream.response.tool_calls == [FunctionCall("f", '{"x": 1}')]


async def _streamed(client: OpenAIEngine):  # type: ignore[no-untyped-def]
    stream = client.stream_chat(USER)
    async for _ in stream:
        pass
    return stream.response


async def test_stop_cancels_the_remote_generation(serve: Serve) -> None:
    backend = ScriptedEngine(["x"] * 100_000, delay=0.002)
    client = _client(serve(backend))
    stream = client.stream_chat(USER)
    count = 0
    async for _ in stream:
        count += 1
        if count == 3:
            client.stop()
    assert stream.response.finish_reason == "cancelled"
    deadline = time.monotonic() + 10
    while backend.interrupted == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert backend.interrupted == 1


async def test_server_errors_are_chat_errors(serve: Serve) -> None:
    server = serve(ScriptedEngine(), api_key="k")
    with pytest.raises(ChatError, match="HTTP 401"):
        await _client(server, api_key="wrong", model="m").chat(USER)
    assert (await _client(server, api_key="k").chat(USER)).text == "Hello, world"
    with pytest.raises(ChatError, match="cannot reach"):
        await create_engine(openai_base_url=f"http://127.0.0.1:{free_port()}", model="m").chat(USER)


def test_config_generation_keys_go_to_the_server() -> None:
    config = load_config(values={"top_k": 5, "temperature": 0.1})
    engine = create_engine(config, openai_base_url="http://127.0.0.1:1")
    assert isinstance(engine, OpenAIEngine)
    assert engine.settings["temperature"] == 0.1 and engine.explicit == {"top_k", "temperature"}
