"""Checking conversations and generation settings before anything is generated."""

import pytest

from lmf_engine.chat.errors import RequestError
from lmf_engine.chat.messages import normalize_messages
from lmf_engine.chat.settings import base_settings, merge_settings, parse_assignment
from lmf_engine.config import load_config
from lmf_engine.data.example import Message


def test_a_leading_system_message_becomes_the_system_prompt() -> None:
    messages, system = normalize_messages(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    )
    assert system == "Be brief."
    assert messages == [Message("user", "Hi")]


def test_tool_results_are_observations() -> None:
    messages, _ = normalize_messages(
        [
            {"role": "user", "content": "Weather?"},
            {"role": "function", "content": '{"name": "w", "arguments": {}}'},
            {"role": "tool", "content": "sunny"},
        ]
    )
    assert [m.role for m in messages] == ["user", "function", "observation"]


@pytest.mark.parametrize(
    ("messages", "words"),
    [
        ([], "at least one user message"),
        ([{"role": "assistant", "content": "Hi"}], "role 'assistant'"),
        ([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}], "role 'user'"),
        ([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}], "last message"),
        ([{"role": "user", "content": 3}], "content must be a string"),
        (["hello"], "must be an object"),
    ],
)
def test_malformed_conversations_are_request_errors(messages: list, words: str) -> None:
    with pytest.raises(RequestError, match=words) as info:
        normalize_messages(messages)
    assert info.value.param == "messages"


def test_system_twice_is_an_error() -> None:
    with pytest.raises(RequestError, match="either"):
        normalize_messages([{"role": "system", "content": "a"}, {"role": "user", "content": "b"}], system="c")


def test_settings_come_from_the_generating_group_and_the_seed_only_when_set() -> None:
    settings = base_settings(load_config(values={"temperature": 0.3, "max_new_tokens": 12}))
    assert settings["temperature"] == 0.3
    assert settings["max_new_tokens"] == 12
    assert settings["seed"] is None
    assert base_settings(load_config(values={"seed": 7}))["seed"] == 7


def test_overrides_are_checked_like_config_keys() -> None:
    base = base_settings(load_config())
    merged = merge_settings(base, {"temperature": "0.5", "top_k": None, "stop": "END"})
    assert merged["temperature"] == 0.5
    assert merged["top_k"] == base["top_k"]
    assert merged["stop"] == ["END"]
    with pytest.raises(RequestError, match="top_p") as info:
        merge_settings(base, {"top_p": 2})
    assert info.value.param == "top_p"
    with pytest.raises(RequestError, match="did you mean temperature"):
        merge_settings(base, {"temprature": 1})
    with pytest.raises(RequestError, match="at most 4"):
        merge_settings(base, {"stop": ["a", "b", "c", "d", "e"]})


def test_parse_assignment() -> None:
    assert parse_assignment("max_new_tokens=64") == ("max_new_tokens", 64)
    assert parse_assignment("do_sample=false") == ("do_sample", False)
    assert parse_assignment("stop=###,END") == ("stop", ["###", "END"])
    assert parse_assignment("seed=3") == ("seed", 3)
    with pytest.raises(RequestError, match="key=value"):
        parse_assignment("temperature")
