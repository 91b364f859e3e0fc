"""Row conversion, row by row, with LLaMA-Factory's converter semantics (no ``datasets`` needed)."""

import json
import re
from pathlib import Path

import pytest

from lmf_engine.data.converters import check_for_stage, convert_row, to_lf_row
from lmf_engine.data.errors import RowError
from lmf_engine.data.example import Example, Message
from lmf_engine.data.registry import parse_entry

ALPACA = parse_entry(
    "alpaca",
    {
        "file_name": "a.json",
        "columns": {
            "prompt": "instruction",
            "query": "input",
            "response": "output",
            "history": "history",
            "system": "system",
            "tools": "tools",
        },
    },
)
SHAREGPT = parse_entry(
    "chat",
    {"file_name": "c.json", "formatting": "sharegpt", "columns": {"messages": "conversations", "system": "system"}},
)
OPENAI_TAGS = {
    "role_tag": "role",
    "content_tag": "content",
    "user_tag": "user",
    "assistant_tag": "assistant",
    "observation_tag": "tool",
    "function_tag": "function",
    "system_tag": "system",
}
OPENAI = parse_entry(
    "oai",
    {
        "file_name": "o.json",
        "formatting": "openai",
        "columns": {"messages": "messages", "tools": "tools"},
        "tags": OPENAI_TAGS,
    },
)


def u(text: str) -> Message:
    return Message("user", text)


def a(text: str) -> Message:
    return Message("assistant", text)


def alpaca_row(**values: object) -> dict:
    return {"instruction": "", "input": None, "output": None, "history": None, "system": None, "tools": None, **values}


def test_alpaca_joins_instruction_and_input_after_history() -> None:
    row = alpaca_row(instruction="Add", input="1 and 2", output="3", history=[["q1", "a1"]], system="s", tools="[]")
    example = convert_row(row, ALPACA)
    assert example.prompt == [u("q1"), a("a1"), u("Add\n1 and 2")]
    assert example.response == [a("3")] and (example.system, example.tools, example.kto_tag) == ("s", "[]", None)


def test_alpaca_empty_parts_and_missing_response() -> None:
    assert convert_row(alpaca_row(instruction="", input="only", output="x"), ALPACA).prompt == [u("only")]
    assert convert_row(alpaca_row(instruction="i", input="", output="x"), ALPACA).prompt == [u("i")]
    unsupervised = convert_row(alpaca_row(instruction="i", output=None, history="not a list"), ALPACA)
    assert unsupervised.prompt == [u("i")] and unsupervised.response == []
    assert check_for_stage(unsupervised, "sft") == "no response"
    assert check_for_stage(unsupervised, "pt") is None and check_for_stage(unsupervised, "predict") is None


def test_alpaca_pretraining_text_is_the_prompt() -> None:
    spec = parse_entry("c4", {"file_name": "c4.jsonl", "columns": {"prompt": "text"}})
    example = convert_row({"text": "a document"}, spec)
    assert example.prompt == [u("a document")] and example.response == []
    assert check_for_stage(example, "pt") is None


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"instruction": 5}, "field 'instruction' is a number, not text"),
        ({"history": [["q"]]}, "history item 1 is not a [prompt, response] pair"),
        ({"history": [["q", None]]}, "history item 1 response is empty (null), not text"),
        ({"system": ["x"]}, "field 'system' is a list, not text"),
    ],
)
def test_alpaca_rows_that_cannot_be_converted(values: dict, reason: str) -> None:
    with pytest.raises(RowError, match=re.escape(reason)):
        convert_row(alpaca_row(**{"instruction": "i", "output": "o", **values}), ALPACA)


def test_alpaca_ranking_and_kto() -> None:
    ranking = parse_entry(
        "r", {"file_name": "r.json", "ranking": True, "columns": {"prompt": "p", "chosen": "c", "rejected": "x"}}
    )
    example = convert_row({"p": "q", "c": "good", "x": "bad"}, ranking)
    assert example.response == [a("good"), a("bad")] and example.chosen == a("good") and example.rejected == a("bad")
    assert (
        check_for_stage(example, "rm") is None
        and check_for_stage(example, "sft") == "2 responses; sft needs exactly one"
    )
    with pytest.raises(RowError, match="fields 'c' and 'x' must both be text"):
        convert_row({"p": "q", "c": None, "x": "bad"}, ranking)
    kto = parse_entry("k", {"file_name": "k.json", "columns": {"prompt": "p", "response": "r", "kto_tag": "label"}})
    good = convert_row({"p": "q", "r": "fine", "label": True}, kto)
    assert (good.response, good.kto_tag) == ([a("fine")], True)
    assert to_lf_row(good)["_response"] == [
        {"role": "assistant", "content": "fine"},
        {"role": "assistant", "content": ""},
    ]
    bad = convert_row({"p": "q", "r": "meh", "label": False}, kto)
    assert to_lf_row(bad)["_response"] == [
        {"role": "assistant", "content": ""},
        {"role": "assistant", "content": "meh"},
    ]
    untagged = convert_row({"p": "q", "r": "meh", "label": None}, kto)
    assert untagged.kto_tag is None and check_for_stage(untagged, "kto") == "the kto_tag is not true or false"


def turn(role: str, value: str) -> dict:
    return {"from": role, "value": value}


def test_sharegpt_roles_system_turn_and_tools() -> None:
    row = {
        "conversations": [
            turn("system", "from turn"),
            turn("human", "weather?"),
            turn("function_call", '{"name": "w"}'),
            turn("observation", "sunny"),
            turn("gpt", "It is sunny."),
        ],
        "system": "column system is overridden",
    }
    example = convert_row(row, SHAREGPT)
    assert example.system == "from turn"
    assert [m.role for m in example.prompt] == ["user", "function", "observation"]
    assert example.response == [a("It is sunny.")]
    plain = convert_row({"conversations": [turn("human", "hi"), turn("gpt", "yo")], "system": None}, SHAREGPT)
    assert plain.system == "" and plain.prompt == [u("hi")]


@pytest.mark.parametrize(
    ("turns", "reason"),
    [
        ([turn("gpt", "a"), turn("human", "b")], "turn 1 has role 'gpt'; expected 'human' or 'observation'"),
        (
            [turn("human", "a"), turn("observation", "b")],
            "turn 2 has role 'observation'; expected 'gpt' or 'function_call'",
        ),
        (
            [turn("human", "a"), turn("gpt", "b"), turn("human", "c")],
            "3 turns: a conversation must end with an assistant",
        ),
        ([turn("human", "a"), {"role": "gpt", "content": "b"}], "turn 2 has no 'from' key (it has 'role', 'content')"),
        ([turn("human", "a"), turn("gpt", None)], "turn 2 is empty (null), not text"),
    ],
)
def test_sharegpt_broken_rows_are_reported(turns: list, reason: str) -> None:
    with pytest.raises(RowError, match=re.escape(reason)):
        convert_row({"conversations": turns, "system": None}, SHAREGPT)


def test_sharegpt_empty_conversation_converts_but_no_stage_can_train_on_it() -> None:
    example = convert_row({"conversations": [], "system": None}, SHAREGPT)
    assert example.prompt == [] and check_for_stage(example, "sft") == "no prompt (no messages)"
    assert check_for_stage(example, "pt") == "no text"


def test_sharegpt_ranking_checks_chosen_and_rejected_roles() -> None:
    spec = parse_entry(
        "dpo",
        {
            "file_name": "d.json",
            "formatting": "sharegpt",
            "ranking": True,
            "columns": {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"},
        },
    )
    row = {"conversations": [turn("human", "q")], "chosen": turn("gpt", "c"), "rejected": turn("gpt", "r")}
    example = convert_row(row, spec)
    assert example.prompt == [u("q")] and example.response == [a("c"), a("r")]
    with pytest.raises(RowError, match="field 'rejected' has role 'human'"):
        convert_row({**row, "rejected": turn("human", "r")}, spec)  # LLaMA-Factory warns and keeps it
    with pytest.raises(RowError, match="an odd number of turns"):
        convert_row({**row, "conversations": [turn("human", "q"), turn("gpt", "a")]}, spec)
    with pytest.raises(RowError, match="must both be messages"):
        convert_row({**row, "chosen": None}, spec)


def test_sharegpt_kto_keeps_one_response_and_the_tag() -> None:
    spec = parse_entry(
        "kto", {"file_name": "k.json", "formatting": "sharegpt", "columns": {"messages": "m", "kto_tag": "label"}}
    )
    example = convert_row({"m": [turn("human", "q"), turn("gpt", "a")], "label": False}, spec)
    assert (example.prompt, example.response, example.kto_tag) == ([u("q")], [a("a")], False)
    assert check_for_stage(example, "kto") is None


def call(city: str) -> dict:
    return {"id": "1", "type": "function", "function": {"name": "weather", "arguments": json.dumps({"city": city})}}


def test_openai_tool_calls_tool_results_and_thinking_system() -> None:
    tools = [{"type": "function", "function": {"name": "weather"}}]
    row = {
        "messages": [
            {"role": "user", "content": "Paris and Rome?"},
            {"role": "assistant", "content": None, "tool_calls": [call("Paris"), call("Rome")]},
            {"role": "tool", "content": "sunny"},
            {"role": "tool", "content": "rainy"},
            {"role": "assistant", "content": "Sunny and rainy."},
        ],
        "tools": tools,
    }
    example = convert_row(row, OPENAI)
    assert [m.role for m in example.prompt] == ["user", "function", "observation"]
    assert json.loads(example.prompt[1].content) == [c["function"] for c in (call("Paris"), call("Rome"))]
    assert example.prompt[2].content == "sunny\n</tool_response>\n<tool_response>\nrainy"
    assert example.tools == json.dumps(tools) and example.system == ""
    chat = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert convert_row({"messages": chat}, OPENAI).system == "detailed thinking off"
    with_system = [{"role": "system", "content": "Be nice."}, *chat]
    assert convert_row({"messages": with_system}, OPENAI).system == "Be nice.\ndetailed thinking off"
    assert convert_row({"messages": with_system, "tools": "[]x"}, OPENAI).system == "Be nice.\n"
    thinking = [{"role": "system", "content": "detailed thinking on"}, *chat]
    assert convert_row({"messages": thinking}, OPENAI).system == "detailed thinking on"
    trailing = convert_row({"messages": [*chat, {"role": "tool", "content": "dropped"}]}, OPENAI)
    assert trailing.prompt == [u("q")] and trailing.response == [a("a")]


@pytest.mark.parametrize(
    ("messages", "reason"),
    [
        ([{"role": "user", "content": "q"}, {"role": "user", "content": "q"}], "turn 2 .* is a user turn"),
        ([{"role": "critic", "content": "q"}], "turn 1 has unknown role 'critic'"),
        ([{"role": [], "content": "q"}], r"turn 1 has unknown role \[\]"),
        ([{"role": "user", "content": ["part"]}, {"role": "assistant", "content": "a"}], "turn 1 is a list, not text"),
    ],
)
def test_openai_broken_rows_are_reported(messages: list, reason: str) -> None:
    with pytest.raises(RowError, match=reason):
        convert_row({"messages": messages}, OPENAI)


def test_example_rows_round_trip() -> None:
    example = Example([u("q")], [a("r")], system="s", tools="t", kto_tag=True, images=["x.png"])
    assert Example.from_row(example.to_row()) == example
    assert set(to_lf_row(example)) == {"_prompt", "_response", "_system", "_tools", "_images", "_videos", "_audios"}
    assert to_lf_row(Example([u("q")], [a("r")]))["_images"] is None  # as LLaMA-Factory's rows without media


MEDIA = parse_entry(
    "mm",
    {"file_name": "mm.json", "formatting": "sharegpt", "columns": {"messages": "messages", "images": "images",
     "videos": "videos"}, "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
     "assistant_tag": "assistant"}},
)  # fmt: skip


def mm_row(text: str, **media: object) -> dict:
    return {"messages": [{"role": "user", "content": text}, {"role": "assistant", "content": "a"}], **media}


def test_media_paths_start_at_media_dir_else_stay_as_written(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "x.png").write_bytes(b"")
    (tmp_path / "y.png").write_bytes(b"")
    (tmp_path / "frames").mkdir()
    for name in ("f1.png", "f2.png"):
        (tmp_path / "media" / name).write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    example = convert_row(mm_row("<image><image><video>q", images=["x.png", "y.png"], videos=[["f1.png", "f2.png"]]),
                          MEDIA, "media")  # fmt: skip
    assert example.images == [str(Path("media") / "x.png"), "y.png"]
    assert example.videos == [f"{Path('media') / 'f1.png'}\n{Path('media') / 'f2.png'}"]  # a video given as frames
    assert convert_row(mm_row("<image>q", images="x.png"), MEDIA, "media").images == [str(Path("media") / "x.png")]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (mm_row("<image>q", images=["https://example.com/x.png"]), "is a URL; media must be local files"),
        (mm_row("<image>q", images=["nowhere.png"]), "no file 'nowhere.png' under media_dir"),
        (mm_row("<image><image>q", images=["x.png"]), "1 images for 2 <image> placeholder"),
        (mm_row("q", images=["x.png"]), "1 images for 0 <image> placeholder"),
        (mm_row("<video>q"), "0 videos for 1 <video> placeholder"),
        (mm_row("<image>q", images=[{"bytes": b"x"}]), "holds dict"),
    ],
)
def test_media_problems_name_the_field_and_the_count(tmp_path, row: dict, reason: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "x.png").write_bytes(b"")
    with pytest.raises(RowError, match=re.escape(reason)):
        convert_row(row, MEDIA, str(tmp_path))
