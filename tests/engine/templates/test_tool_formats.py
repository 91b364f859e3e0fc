"""Tool formats: tool lists in the system prompt and calls read back from text, as LLaMA-Factory writes and reads."""

import json
from typing import Any

import pytest

from lmf_engine.data.templates import FunctionCall, get_template, get_tool_format, tool_format_names


def _extracted(value: Any) -> Any:
    return value if isinstance(value, str) else [list(call) for call in value]


def test_every_llamafactory_format_exists(goldens: dict) -> None:
    assert set(goldens["tools"]) == set(tool_format_names())


@pytest.mark.parametrize("name", sorted(tool_format_names()))
def test_extraction_and_tool_text_match(name: str, goldens: dict, samples: list, frozen_date: str) -> None:
    fmt = get_tool_format(name)
    for text, expected in goldens["tools"][name]["extract"]:
        if isinstance(expected, dict):
            with pytest.raises(Exception) as info:
                fmt.extract(text)
            assert expected["error"] in {c.__name__ for c in type(info.value).__mro__}
        else:
            assert _extracted(fmt.extract(text)) == expected, text
    texts = [fmt.format_tools(json.loads(s["tools"])) for s in samples if s.get("tools")]
    assert texts == goldens["tools"][name]["tools"]


def test_calls_round_trip_through_the_qwen_template() -> None:
    template = get_template("qwen")
    calls = [FunctionCall("add", '{"a": 1, "b": 2}')]
    assert template.extract_tool(get_tool_format(template.tool_format).format_calls(calls)) == calls
    assert template.extract_tool("no call here") == "no call here"


def test_unknown_tool_format_is_an_error() -> None:
    with pytest.raises(ValueError, match="not found"):
        get_tool_format("nope")
    with pytest.raises(ValueError, match="not found"):
        get_template("qwen").with_options(tool_format="nope")


def test_phi4_mini_tools_are_plain_slots() -> None:
    with pytest.raises(NotImplementedError):
        get_template("phi4_mini").extract_tool("x")
