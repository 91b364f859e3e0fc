"""What every back end gets from the engine interface: queueing, stop(), stop strings, reasoning and tool calls."""

import asyncio

import pytest
from fixtures.scripted_engine import ScriptedEngine

from lmf_engine.chat import RequestError
from lmf_engine.data.templates import FunctionCall, get_template

USER = [{"role": "user", "content": "Hi"}]


async def test_chat_and_stream_give_the_same_answer() -> None:
    engine = ScriptedEngine()
    response = await engine.chat(USER)
    stream = engine.stream_chat(USER)
    chunks = [chunk async for chunk in stream]
    assert chunks == ["Hello", ",", " world"]
    assert stream.response == response
    assert (response.text, response.finish_reason) == ("Hello, world", "stop")
    assert (response.prompt_tokens, response.completion_tokens) == (7, 3)


async def test_length_and_stop_string_finish_reasons() -> None:
    engine = ScriptedEngine(["a", "b", "c", "d"])
    assert (await engine.chat(USER, max_new_tokens=2)).finish_reason == "length"
    stream = engine.stream_chat(USER, stop=["c"])
    assert [chunk async for chunk in stream] == ["a", "b"]
    assert (stream.response.text, stream.response.finish_reason) == ("ab", "stop")


async def test_a_bad_request_fails_before_any_generation() -> None:
    engine = ScriptedEngine()
    with pytest.raises(RequestError):
        engine.stream_chat([{"role": "assistant", "content": "x"}])
    with pytest.raises(RequestError, match="temperature"):
        engine.stream_chat(USER, temperature=-1)
    assert engine.requests == []


async def test_stop_ends_the_current_generation_at_once() -> None:
    engine = ScriptedEngine(["x"] * 1000, delay=0.001)
    stream = engine.stream_chat(USER)
    seen = []
    async for chunk in stream:
        seen.append(chunk)
        if len(seen) == 3:
            engine.stop()
    assert len(seen) <= 4
    assert stream.response.finish_reason == "cancelled"
    assert engine.interrupted == 1


async def test_closing_a_stream_cancels_its_generation() -> None:
    engine = ScriptedEngine(["x"] * 1000, delay=0.001)
    stream = engine.stream_chat(USER)
    await stream.__anext__()
    await stream.aclose()
    assert engine.interrupted == 1
    assert (await engine.chat(USER, max_new_tokens=2)).finish_reason == "length"


async def test_concurrent_requests_are_queued_not_interleaved() -> None:
    engine = ScriptedEngine(["a", "b", "c"], delay=0.01)

    async def one(i: int) -> str:
        return "".join([chunk async for chunk in engine.stream_chat(USER)])

    answers = await asyncio.gather(*(one(i) for i in range(4)))
    assert answers == ["abc"] * 4
    assert engine.max_active == 1
    assert engine.order == [(kind, i) for i in range(4) for kind in ("start", "end")]


async def test_reasoning_is_kept_apart_from_the_answer() -> None:
    engine = ScriptedEngine(["<think>\nAdd", " them.\n</think>", "\n\n4"], template=get_template("qwen3"))
    response = await engine.chat(USER)
    assert (response.reasoning, response.text) == ("Add them.", "4")
    assert response.raw_text == "<think>\nAdd them.\n</think>\n\n4"


async def test_tool_calls_are_parsed_with_the_templates_tool_format() -> None:
    call = '<tool_call>\n{"name": "weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    engine = ScriptedEngine([call], template=get_template("qwen"))
    tools = '[{"name": "weather", "description": "", "parameters": {}}]'
    response = await engine.chat(USER, tools=tools)
    assert response.tool_calls == [FunctionCall("weather", '{"city": "Paris"}')]
    assert (await engine.chat(USER)).tool_calls == []
