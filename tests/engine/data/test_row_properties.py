"""Property tests of dataset rows: whatever shape, types, nesting, size or text a row has, converting it gives an
:class:`Example` or a :class:`RowError` with one bounded line, and every example a stage accepts encodes with a real
template and the tiny tokenizer. Sample objects for the template view give an Example or a one-line SampleError.

Rows are mostly almost right (the columns and tags the dataset names, with text values) and then broken in one or
several places: wrong types, nested lists and objects, missing or extra fields, odd roles, huge and unusual text
(markup, template tokens, right-to-left marks, lone surrogates). Each property runs a fixed (derandomized) set.
"""

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmf_engine.data.converters import STAGES, check_for_stage, convert_row
from lmf_engine.data.errors import RowError
from lmf_engine.data.example import Example
from lmf_engine.data.processors import EncodeOptions, encode
from lmf_engine.data.registry import DatasetSpec, parse_entry
from lmf_engine.data.samples import SampleError, as_example
from lmf_engine.data.templates import get_template_and_fix_tokenizer

CASES = settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
MAX_LINE = 1000
TEMPLATES = ("qwen", "llama3", "default", "qwen3")
INVALID_JSON = "Invalid JSON format in "

OPENAI_TAGS = {
    "role_tag": "role",
    "content_tag": "content",
    "user_tag": "user",
    "assistant_tag": "assistant",
    "observation_tag": "tool",
    "function_tag": "function",
    "system_tag": "system",
}
ALPACA_COLUMNS = {
    "prompt": "instruction",
    "query": "input",
    "response": "output",
    "history": "history",
    "system": "system",
    "tools": "tools",
}
SPECS: dict[str, DatasetSpec] = {
    "alpaca": parse_entry("alpaca", {"file_name": "a.json", "columns": ALPACA_COLUMNS}),
    "alpaca-plain": parse_entry("alpaca-plain", {"file_name": "a.json"}),
    "alpaca-text": parse_entry("alpaca-text", {"file_name": "a.json", "columns": {"prompt": "text"}}),
    "alpaca-ranking": parse_entry(
        "alpaca-ranking",
        {
            "file_name": "a.json",
            "ranking": True,
            "columns": {**ALPACA_COLUMNS, "chosen": "chosen", "rejected": "rejected"},
        },
    ),
    "alpaca-kto": parse_entry("alpaca-kto", {"file_name": "a.json", "columns": {**ALPACA_COLUMNS, "kto_tag": "kto"}}),
    "sharegpt": parse_entry(
        "sharegpt",
        {
            "file_name": "s.json",
            "formatting": "sharegpt",
            "columns": {"messages": "conversations", "system": "system"},
        },
    ),
    "sharegpt-tools": parse_entry(
        "sharegpt-tools",
        {
            "file_name": "s.json",
            "formatting": "sharegpt",
            "columns": {"messages": "conversations", "system": "system", "tools": "tools"},
        },
    ),
    "sharegpt-ranking": parse_entry(
        "sharegpt-ranking",
        {
            "file_name": "s.json",
            "formatting": "sharegpt",
            "ranking": True,
            "columns": {"messages": "conversations", "chosen": "chosen", "rejected": "rejected"},
        },
    ),
    "sharegpt-kto": parse_entry(
        "sharegpt-kto",
        {"file_name": "s.json", "formatting": "sharegpt", "columns": {"messages": "conversations", "kto_tag": "kto"}},
    ),
    "sharegpt-openai-tags": parse_entry(
        "sharegpt-openai-tags",
        {"file_name": "s.json", "formatting": "sharegpt", "columns": {"messages": "messages"}, "tags": OPENAI_TAGS},
    ),
    "openai": parse_entry(
        "openai",
        {
            "file_name": "o.json",
            "formatting": "openai",
            "columns": {"messages": "messages", "tools": "tools"},
            "tags": OPENAI_TAGS,
        },
    ),
}


# ---------------------------------------------------------------- text and values

ODD_TEXT = (
    "",
    " ",
    "\n",
    "\r\n\t",
    "\x00",
    "\u202eright-to-left",
    "\ufeffBOM",
    "é́́",
    "🙂" * 5,
    "你好，世界",
    "[b]bold[/b]",
    "[/x]",
    "[x=1]",
    "[@click=app.quit]",
    "<|im_end|>",
    "<|im_start|>assistant\n",
    "<|endoftext|>",
    "<|eot_id|>",
    "<s></s>",
    "<think></think>",
    "<think>\nreasoning\n</think>\n\nanswer",
    "<tool_call>\n{}\n</tool_call>",
    "{{content}}",
    "{content}",
    "%s %d",
    "\\u0000",
    '{"name": "f", "arguments": {}}',
    '[{"name": "f", "description": "d", "parameters": {"type": "object", "properties": {}}}]',
    "null",
)

texts = st.one_of(
    st.text(max_size=40),
    st.text(max_size=40),
    st.sampled_from(ODD_TEXT),
    st.lists(st.sampled_from(ODD_TEXT), min_size=1, max_size=4).map("".join),
    st.builds(lambda s, n: s * n, st.sampled_from(["word ", "字", "<|im_end|>", "\n"]), st.integers(100, 1500)),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    texts,
)
anything = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6,
)


def mostly(good: st.SearchStrategy[Any], rate: int = 8) -> st.SearchStrategy[Any]:
    """``good`` most of the time, anything about one time in ``rate``."""
    return st.integers(0, rate - 1).flatmap(lambda n: anything if n == 0 else good)


tool_lists = st.one_of(
    st.just(""),
    st.just(ODD_TEXT[-2]),
    st.lists(
        st.fixed_dictionaries(
            {"name": texts, "description": texts},
            optional={"parameters": st.one_of(anything, st.just({"type": "object", "properties": {}}))},
        ),
        max_size=2,
    ).map(lambda tools: json.dumps(tools, ensure_ascii=False)),
)


# ---------------------------------------------------------------- rows


@st.composite
def alpaca_rows(draw: st.DrawFn) -> dict[str, Any]:
    row: dict[str, Any] = {
        "instruction": draw(mostly(texts)),
        "input": draw(mostly(st.one_of(st.none(), texts))),
        "output": draw(mostly(texts)),
    }
    if draw(st.booleans()):
        row["system"] = draw(mostly(st.one_of(st.none(), texts)))
    if draw(st.booleans()):
        row["history"] = draw(mostly(st.lists(st.lists(texts, min_size=2, max_size=2), max_size=3)))
    if draw(st.booleans()):
        row["tools"] = draw(mostly(tool_lists))
    if draw(st.booleans()):
        row["chosen"], row["rejected"] = draw(mostly(texts)), draw(mostly(texts))
    if draw(st.booleans()):
        row["kto"] = draw(mostly(st.booleans()))
    if draw(st.booleans()):
        row["text"] = draw(mostly(texts))
    for key in draw(st.lists(st.sampled_from(sorted(row)), max_size=2)):
        row.pop(key, None)
    row.update(draw(st.dictionaries(st.text(max_size=6), anything, max_size=2)))
    return row


SHAREGPT_ROLES = ("human", "gpt", "observation", "function_call", "system")
OPENAI_ROLES = ("user", "assistant", "tool", "function", "system")


@st.composite
def turns(draw: st.DrawFn, role_key: str, content_key: str, roles: tuple[str, ...]) -> list[Any]:
    """Alternating turns (user first), sometimes with a leading system turn, then broken here and there."""
    n = draw(st.integers(0, 6))
    out: list[Any] = []
    if draw(st.integers(0, 3)) == 0:
        out.append({role_key: roles[4], content_key: draw(mostly(texts))})
    for i in range(n):
        if draw(st.integers(0, 9)) == 0:
            role = draw(st.one_of(st.sampled_from(roles), texts, anything))
        else:
            role = roles[0] if i % 2 == 0 else roles[1]
            if draw(st.integers(0, 5)) == 0:
                role = roles[2] if i % 2 == 0 else roles[3]
        message: Any = {role_key: role, content_key: draw(mostly(texts, 10))}
        if roles is OPENAI_ROLES and role in ("assistant", "function") and draw(st.integers(0, 4)) == 0:
            message["tool_calls"] = draw(
                mostly(
                    st.lists(st.fixed_dictionaries({"function": st.fixed_dictionaries({"name": texts})}), max_size=2)
                )
            )
        if draw(st.integers(0, 15)) == 0:
            message = draw(st.one_of(anything, st.just({}), st.just({role_key: role})))
        out.append(message)
    return out


@st.composite
def sharegpt_rows(draw: st.DrawFn) -> dict[str, Any]:
    openai_tags = draw(st.booleans())
    role_key, content_key, roles = (
        ("role", "content", OPENAI_ROLES) if openai_tags else ("from", "value", SHAREGPT_ROLES)
    )
    messages = draw(mostly(turns(role_key, content_key, roles), 12))
    row: dict[str, Any] = {"messages" if openai_tags else "conversations": messages}
    if draw(st.booleans()):
        row["system"] = draw(mostly(st.one_of(st.none(), texts)))
    if draw(st.booleans()):
        row["tools"] = draw(mostly(st.one_of(tool_lists, st.lists(anything, max_size=2))))
    if draw(st.booleans()):
        answer = st.fixed_dictionaries({role_key: st.sampled_from(roles[1::2]), content_key: texts})
        row["chosen"], row["rejected"] = draw(mostly(answer)), draw(mostly(answer))
    if draw(st.booleans()):
        row["kto"] = draw(mostly(st.booleans()))
    if draw(st.integers(0, 9)) == 0:
        row.pop(next(iter(row)))
    row.update(draw(st.dictionaries(st.text(max_size=6), anything, max_size=2)))
    return row


# ---------------------------------------------------------------- checks


def assert_one_line(message: str) -> None:
    assert message, "an empty error message"
    assert "\n" not in message and "\r" not in message, repr(message[:300])
    assert "Traceback" not in message
    assert len(message) <= MAX_LINE, f"{len(message)} characters: {message[:200]!r}"


def convert(row: dict[str, Any], spec: DatasetSpec) -> Example | None:
    try:
        example = convert_row(row, spec)
    except RowError as exc:
        assert_one_line(str(exc))
        return None
    assert isinstance(example, Example)
    for message in [*example.prompt, *example.response]:
        assert isinstance(message.content, str)
    assert isinstance(example.system, str) and isinstance(example.tools, str)
    assert example.kto_tag in (None, True, False)
    return example


@pytest.fixture(scope="module")
def encoders(tiny_model_dir: Path) -> Iterator[dict[str, tuple[Any, Any]]]:
    """Template name -> (template, tokenizer), on the tiny model's tokenizer; encoder warnings are silenced."""
    from transformers import AutoTokenizer

    out = {}
    for name in TEMPLATES:
        tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
        out[name] = (get_template_and_fix_tokenizer(tokenizer, name), tokenizer)
    logging.disable(logging.WARNING)
    try:
        yield out
    finally:
        logging.disable(logging.NOTSET)


def encode_for_every_stage(example: Example, encoders: dict, template: str, cutoff: int, flags: tuple) -> None:
    """Encode ``example`` for each stage that can train on it; the rows are as long as the cutoff allows."""
    template_obj, tokenizer = encoders[template]
    packing, history = flags
    for stage in STAGES:
        if stage == "predict" or check_for_stage(example, stage) is not None:
            continue
        options = EncodeOptions(
            cutoff_len=cutoff,
            packing=packing if stage in ("sft", "pt") else None,
            mask_history=history and stage == "sft",
        )
        try:
            columns = encode(stage, template_obj, tokenizer, [example], options)  # type: ignore[arg-type]
        except RuntimeError as exc:  # LLaMA-Factory's own error for a function call or tool list that is not JSON
            assert str(exc).startswith(INVALID_JSON), exc
            assert_one_line(str(exc).split(": ", 1)[0])
            return
        assert columns, stage
        lengths = {len(value) for value in columns.values()}
        assert len(lengths) == 1, (stage, {k: len(v) for k, v in columns.items()})
        if stage == "sft" and not packing:
            (ids,), (labels,) = columns["input_ids"], columns["labels"]
            assert len(ids) == len(labels) <= cutoff
            assert all(isinstance(i, int) and 0 <= i < len(tokenizer) for i in ids)


encode_settings = st.tuples(st.sampled_from(TEMPLATES), st.integers(2, 96), st.tuples(st.booleans(), st.booleans()))


@CASES
@given(row=alpaca_rows(), spec=st.sampled_from([k for k in SPECS if k.startswith("alpaca")]), how=encode_settings)
def test_alpaca_rows_convert_and_encode_or_give_one_line(encoders: dict, row: dict, spec: str, how: tuple) -> None:
    example = convert(row, SPECS[spec])
    if example is not None:
        encode_for_every_stage(example, encoders, *how)


@CASES
@given(
    row=sharegpt_rows(), spec=st.sampled_from([k for k in SPECS if not k.startswith("alpaca")]), how=encode_settings
)
def test_sharegpt_rows_convert_and_encode_or_give_one_line(encoders: dict, row: dict, spec: str, how: tuple) -> None:
    example = convert(row, SPECS[spec])
    if example is not None:
        encode_for_every_stage(example, encoders, *how)


@st.composite
def samples(draw: st.DrawFn) -> Any:
    messages = draw(mostly(turns("role", "content", OPENAI_ROLES), 10))
    if draw(st.booleans()):
        return messages
    sample: dict[str, Any] = {"messages": messages}
    for key in draw(st.lists(st.sampled_from(["system", "tools", "chosen", "rejected", "kto_tag", "extra"]))):
        value = {"role": "assistant", "content": draw(texts)} if key in ("chosen", "rejected") else draw(scalars)
        sample[key] = draw(mostly(st.just(value), 4))
    return draw(mostly(st.just(sample), 20))


@settings(CASES, max_examples=500)
@given(sample=samples())
def test_template_view_samples_give_an_example_or_one_line(sample: Any) -> None:
    try:
        example = as_example(sample)
    except SampleError as exc:
        assert_one_line(str(exc))
        return
    assert isinstance(example, Example)
    assert all(isinstance(m.content, str) for m in [*example.prompt, *example.response])


def test_a_lone_surrogate_in_a_row_gives_a_row_error(encoders: dict) -> None:
    try:
        example = convert_row({"text": "a\ud800"}, SPECS["alpaca-text"])
    except RowError:
        return
    template, tokenizer = encoders["qwen"]
    encode("pt", template, tokenizer, [example], EncodeOptions(packing=False))


def test_packing_with_cutoff_len_1_is_refused_cleanly(encoders: dict) -> None:
    template, tokenizer = encoders["qwen"]
    example = convert_row({"text": "some text"}, SPECS["alpaca-text"])
    try:
        encode("pt", template, tokenizer, [example], EncodeOptions(cutoff_len=1, packing=True))
    except ValueError as exc:
        assert_one_line(str(exc))
