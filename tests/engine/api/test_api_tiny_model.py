"""The API over the tiny model, driven by the `openai` package and by httpx."""

from pathlib import Path

import httpx
import openai
import pytest
from chat_support import tiny_config

from lmf_engine.api.app import create_app
from lmf_engine.api.server import ServerThread

USER = [{"role": "user", "content": "What is the capital of France?"}]


def test_openai_package_chat_and_stream(tiny_server: ServerThread) -> None:
    client = openai.OpenAI(base_url=f"{tiny_server.url}/v1", api_key="unused")
    assert [m.id for m in client.models.list()] == ["tiny-qwen2"]
    completion = client.chat.completions.create(model="tiny", messages=USER, temperature=0, max_tokens=6)
    choice = completion.choices[0]
    assert choice.finish_reason in ("stop", "length")
    assert completion.usage.completion_tokens <= 6 and completion.usage.prompt_tokens > 10
    chunks = list(
        client.chat.completions.create(model="tiny", messages=USER, temperature=0, max_tokens=6, stream=True)
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == choice.message.content
    assert chunks[-1].choices[0].finish_reason == choice.finish_reason


def test_openai_package_reports_bad_requests(tiny_server: ServerThread) -> None:
    client = openai.OpenAI(base_url=f"{tiny_server.url}/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="tiny", messages=[{"role": "assistant", "content": "x"}])
    assert info.value.status_code == 400
    with pytest.raises(openai.BadRequestError, match="context length"):
        client.chat.completions.create(model="tiny", messages=USER, max_tokens=5000)


def test_openai_package_with_an_api_key(tiny_model_dir: Path) -> None:
    from lmf_engine.chat.hf_engine import HuggingfaceEngine

    engine = HuggingfaceEngine(tiny_config(tiny_model_dir))
    with ServerThread(create_app(engine, api_key="k-123")) as server:
        good = openai.OpenAI(base_url=f"{server.url}/v1", api_key="k-123")
        assert good.chat.completions.create(model="t", messages=USER, max_tokens=2).choices
        bad = openai.OpenAI(base_url=f"{server.url}/v1", api_key="nope", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            bad.models.list()


def test_reward_scores(tiny_model_dir: Path) -> None:
    from lmf_engine.chat.hf_engine import HuggingfaceEngine

    engine = HuggingfaceEngine(tiny_config(tiny_model_dir, stage="rm", finetuning_type="lora"))
    with ServerThread(create_app(engine)) as server:
        response = httpx.post(f"{server.url}/v1/score/evaluation", json={"model": "rm", "messages": ["a b", "c"]})
        body = response.json()
        assert response.status_code == 200, body
        assert body["object"] == "score.evaluation" and len(body["scores"]) == 2
        chat = httpx.post(f"{server.url}/v1/chat/completions", json={"messages": USER})
        assert chat.status_code == 405 and "reward model" in chat.json()["error"]["message"]
        empty = httpx.post(f"{server.url}/v1/score/evaluation", json={"messages": []})
        assert empty.status_code == 400
