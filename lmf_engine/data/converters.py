"""Dataset rows -> :class:`Example`, with LLaMA-Factory 0.9.5's alpaca, sharegpt and openai converter semantics.

Where LLaMA-Factory logs a row as broken and later drops it (a bad role order or message count), or would crash
on it (a missing or non-text content), :func:`convert_row` raises :class:`RowError` with the reason instead.
:func:`check_for_stage` applies the checks LLaMA-Factory's processors use to drop rows a stage cannot train on.
A kto row keeps one response and its ``kto_tag``; :func:`to_lf_row` gives LLaMA-Factory's two-response form.
"""

import json
from collections.abc import Mapping
from typing import Any

from .errors import RowError
from .example import Example, Message
from .media_paths import MediaError, count_mismatch, media_paths
from .registry import DatasetSpec

THINKING_OFF = "detailed thinking off"  # the openai converter's default system prompt
TOOL_RESPONSE_SEPARATOR = "\n</tool_response>\n<tool_response>\n"
STAGES = ("pt", "sft", "rm", "dpo", "ppo", "kto", "predict")


KINDS = {bool: "true/false", int: "a number", float: "a number", str: "a text", list: "a list", dict: "an object"}


def _kind(value: Any) -> str:
    return "empty (null)" if value is None else KINDS.get(type(value), f"a {type(value).__name__}")


def _text(value: Any, what: str) -> str:
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise RowError(f"{what} is not valid Unicode (a lone surrogate at character {exc.start})") from None
        return value
    raise RowError(f"{what} is {_kind(value)}, not text")


def _field(row: Mapping[str, Any], column: str | None) -> Any:
    if column is None:
        raise RowError("a column the dataset needs is not set in dataset_info.json")
    try:
        return row[column]
    except KeyError:
        raise RowError(f"the row has no field {column!r}") from None


def _optional_text(row: Mapping[str, Any], column: str | None, what: str, use_get: bool = False) -> str:
    if not column:
        return ""
    value = row.get(column, "") if use_get else _field(row, column)
    return "" if value is None else _text(value, what)


def _tag_mapping(spec: DatasetSpec) -> dict[str, str]:
    t = spec.tags
    pairs = [
        (t.user_tag, "user"),
        (t.assistant_tag, "assistant"),
        (t.observation_tag, "observation"),
        (t.function_tag, "function"),
        (t.system_tag, "system"),
    ]
    return {tag: role for tag, role in pairs if tag is not None}  # later tags win on a clash, as in LLaMA-Factory


def _key(message: Any, key: str | None, turn: str) -> Any:
    if not isinstance(message, Mapping):
        raise RowError(f"{turn} is {_kind(message)}, not a message object")
    if key is None or key not in message:
        keys = ", ".join(repr(k) for k in message) or "none"
        raise RowError(f"{turn} has no {key!r} key (it has {keys:.200}); check the dataset's tags")
    return message[key]


def _messages(row: Mapping[str, Any], spec: DatasetSpec) -> list[Any]:
    messages = _field(row, spec.columns.messages)
    if not isinstance(messages, list):
        raise RowError(f"field {spec.columns.messages!r} is {_kind(messages)}, not a list of messages")
    return messages


def _split_system(row: Mapping[str, Any], spec: DatasetSpec, messages: list[Any], use_get: bool) -> tuple[str, list]:
    t = spec.tags
    if t.system_tag and messages and _key(messages[0], t.role_tag, "message 1") == t.system_tag:
        content = _key(messages[0], t.content_tag, "the system message")
        return ("" if content is None else _text(content, "the system message")), messages[1:]
    return _optional_text(row, spec.columns.system, f"field {spec.columns.system!r}", use_get), messages


def _check_count(aligned: list[Message], ranking: bool) -> None:
    n = len(aligned)
    if not ranking and n % 2 != 0:
        raise RowError(f"{n} turns: a conversation must end with an assistant turn (an even number of turns)")
    if ranking and n % 2 == 0:
        raise RowError(f"{n} turns: a ranking conversation must end with a user turn (an odd number of turns)")


def _pair(row: Mapping[str, Any], spec: DatasetSpec, mapping: dict[str, str], accepted: tuple) -> list[Message]:
    pair = []
    for column in (spec.columns.chosen, spec.columns.rejected):
        message = row[column]
        role = _key(message, spec.tags.role_tag, f"field {column!r}")
        if role is None or role not in accepted or role not in mapping:
            raise RowError(
                f"field {column!r} has role {role!r:.80}; expected {' or '.join(repr(a) for a in accepted)}"
            )
        pair.append(Message(mapping[role], _text(_key(message, spec.tags.content_tag, column), f"field {column!r}")))
    return pair


def _finish(
    row: Mapping[str, Any], spec: DatasetSpec, aligned: list[Message], accepted: tuple, **extra: Any
) -> Example:
    """The kto / ranking / plain split shared by the sharegpt and openai converters."""
    c = spec.columns
    if c.kto_tag and isinstance(_field(row, c.kto_tag), bool):
        return Example(aligned[:-1], aligned[-1:], kto_tag=row[c.kto_tag], **extra)
    if spec.ranking and isinstance(_field(row, c.chosen), dict) and isinstance(_field(row, c.rejected), dict):
        return Example(aligned, _pair(row, spec, _tag_mapping(spec), accepted), **extra)
    if spec.ranking:
        raise RowError(f"fields {c.chosen!r} and {c.rejected!r} must both be messages")
    return Example(aligned[:-1], aligned[-1:], **extra)


def convert_alpaca(row: Mapping[str, Any], spec: DatasetSpec) -> Example:
    """instruction + "\\n" + input as the user turn after the history pairs; output, chosen/rejected or nothing."""
    c = spec.columns
    prompt: list[Message] = []
    history = _field(row, c.history) if c.history else None
    if isinstance(history, list):
        for i, turn in enumerate(history, 1):
            if not isinstance(turn, list | tuple) or len(turn) != 2:
                raise RowError(f"history item {i} is not a [prompt, response] pair")
            prompt.append(Message("user", _text(turn[0], f"history item {i} prompt")))
            prompt.append(Message("assistant", _text(turn[1], f"history item {i} response")))
    query = []
    for column in (c.prompt, c.query):
        if column and _field(row, column):
            query.append(_text(row[column], f"field {column!r}"))
    prompt.append(Message("user", "\n".join(query)))
    extra = {
        "system": _optional_text(row, c.system, f"field {c.system!r}"),
        "tools": _optional_text(row, c.tools, f"field {c.tools!r}"),
    }
    if c.kto_tag and isinstance(_field(row, c.kto_tag), bool):
        response = [Message("assistant", _text(_field(row, c.response), f"field {c.response!r}"))]
        return Example(prompt, response, kto_tag=row[c.kto_tag], **extra)
    if spec.ranking and isinstance(_field(row, c.chosen), str) and isinstance(_field(row, c.rejected), str):
        return Example(prompt, [Message("assistant", row[c.chosen]), Message("assistant", row[c.rejected])], **extra)
    if spec.ranking:
        raise RowError(f"fields {c.chosen!r} and {c.rejected!r} must both be text")
    if c.response and isinstance(_field(row, c.response), str):
        return Example(prompt, [Message("assistant", row[c.response])], **extra)
    return Example(prompt, [], **extra)  # unsupervised: pre-training text or a prompt to predict


def convert_sharegpt(row: Mapping[str, Any], spec: DatasetSpec) -> Example:
    """Role-tagged turns: user/observation at odd positions, assistant/function at even ones."""
    t = spec.tags
    system, messages = _split_system(row, spec, _messages(row, spec), use_get=False)
    mapping = _tag_mapping(spec)
    accept = ((t.user_tag, t.observation_tag), (t.assistant_tag, t.function_tag))
    aligned = []
    for i, message in enumerate(messages):
        role = _key(message, t.role_tag, f"turn {i + 1}")
        allowed = accept[i % 2]
        if role is None or role not in allowed:
            expected = " or ".join(repr(a) for a in allowed if a is not None)
            raise RowError(f"turn {i + 1} has role {role!r:.80}; expected {expected}")
        aligned.append(Message(mapping[role], _text(_key(message, t.content_tag, f"turn {i + 1}"), f"turn {i + 1}")))
    _check_count(aligned, spec.ranking)
    tools = _optional_text(row, spec.columns.tools, f"field {spec.columns.tools!r}")
    return _finish(row, spec, aligned, accept[1], system=system, tools=tools)


def _openai_turns(messages: list[Any], spec: DatasetSpec) -> list[Message]:
    t = spec.tags
    mapping = _tag_mapping(spec)
    aligned: list[Message] = []
    tool_responses: list[str] = []
    for i, message in enumerate(messages, 1):
        role = _key(message, t.role_tag, f"turn {i}")
        content = _key(message, t.content_tag, f"turn {i}")
        if role in (t.assistant_tag, t.function_tag) and (tool_calls := message.get("tool_calls")):
            try:
                content = json.dumps([tool["function"] for tool in tool_calls], ensure_ascii=False)
            except (KeyError, TypeError):
                raise RowError(f"turn {i} has tool_calls without a 'function' object") from None
            role = t.function_tag
        if role is not None and role == t.observation_tag:
            tool_responses.append(_text(content, f"turn {i}"))
            continue
        if tool_responses:
            aligned.append(Message("observation", TOOL_RESPONSE_SEPARATOR.join(tool_responses)))
            tool_responses = []
        if not isinstance(role, str) or role not in mapping:
            raise RowError(f"turn {i} has unknown role {role!r:.80}; known roles: {', '.join(map(repr, mapping))}")
        aligned.append(Message(mapping[role], _text(content, f"turn {i}")))  # type: ignore[arg-type]
    for i, message in enumerate(aligned):
        allowed = ("user", "observation") if i % 2 == 0 else ("assistant", "function")
        if message.role not in allowed:
            raise RowError(f"turn {i + 1} (after merging tool results) is a {message.role} turn; expected {allowed}")
    return aligned


def convert_openai(row: Mapping[str, Any], spec: DatasetSpec) -> Example:
    """OpenAI-style messages with tool_calls and tool results; adds LLaMA-Factory's "detailed thinking" system."""
    system, messages = _split_system(row, spec, _messages(row, spec), use_get=True)
    aligned = _openai_turns(messages, spec)
    _check_count(aligned, spec.ranking)
    tools = row.get(spec.columns.tools, "") if spec.columns.tools else ""
    if isinstance(tools, dict | list):
        tools = json.dumps(tools, ensure_ascii=False)
    tools = "" if tools is None else _text(tools, f"field {spec.columns.tools!r}")
    if not system:
        system = "" if tools else THINKING_OFF
    elif tools:
        system += "\n"
    elif "detailed thinking on" not in system and THINKING_OFF not in system:
        system += "\n" + THINKING_OFF
    return _finish(row, spec, aligned, ("assistant", "function"), system=system, tools=tools)


CONVERTERS = {"alpaca": convert_alpaca, "sharegpt": convert_sharegpt, "openai": convert_openai}


def convert_row(row: Mapping[str, Any], spec: DatasetSpec, media_dir: str = "") -> Example:
    """Convert one row of ``spec``'s data; raise :class:`RowError` with the reason when it cannot be.

    Media paths are resolved under ``media_dir`` and must match the messages' placeholders (each response in turn
    with the prompt, as LLaMA-Factory's plugins check them).
    """
    example = CONVERTERS[spec.formatting](row, spec)
    if spec.media_columns:
        try:
            for kind in spec.media_columns:
                column = getattr(spec.columns, kind)
                setattr(example, kind, media_paths(row.get(column), media_dir, column))
        except MediaError as exc:
            raise RowError(str(exc)) from None
        media = {"images": example.images, "videos": example.videos, "audios": example.audios}
        prompt = [m.content for m in example.prompt]
        for response in example.response or [None]:
            texts = prompt + ([response.content] if response is not None else [])
            problem = count_mismatch(texts, media)  # type: ignore[arg-type]
            if problem is not None:
                raise RowError(f"the messages and the media do not match: {problem}")
    return example


def check_for_stage(example: Example, stage: str) -> str | None:
    """Why ``stage`` cannot train on ``example`` (LLaMA-Factory's processors drop such rows), or None.

    ``predict`` is sft prediction with generation: a response is optional.
    """
    n_prompt = len(example.prompt)
    n_response = len(example.response) + (1 if example.kto_tag is not None else 0)  # LLaMA-Factory's kto form
    if stage == "pt":
        return None if n_prompt else "no text"
    if n_prompt == 0:
        return "no prompt (no messages)"
    if n_prompt % 2 != 1:
        return f"the prompt has {n_prompt} turns; it must end with a user turn"
    if stage == "sft" and n_response != 1:
        return "no response" if n_response == 0 else f"{n_response} responses; sft needs exactly one"
    if stage in ("rm", "dpo") and n_response < 2:
        return "no chosen and rejected responses"
    if stage == "kto" and n_response < 2:
        return "the kto_tag is not true or false" if n_response == 1 else "no response"
    return None


def to_lf_row(example: Example) -> dict[str, Any]:
    """LLaMA-Factory's aligned row (``_prompt``, ``_response``, ``_system``, ``_tools``), kto as two responses."""
    row = example.to_row()
    if example.kto_tag is not None:
        empty = {"role": "assistant", "content": ""}
        row["_response"] = row["_response"] + [empty] if example.kto_tag else [empty, *row["_response"]]
    del row["_kto_tag"]
    return row
