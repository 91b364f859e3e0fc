"""Samples for the template view: canonical examples from chat messages, a dataset row or a built-in conversation.

Messages are ``{"role", "content"}`` dicts as chat APIs write them: an optional leading ``system`` message, then
``user``/``assistant`` turns (``tool`` is read as ``observation``, ``function_call`` as ``function``). A trailing
assistant message is the response. An object form adds ``system``, ``tools``, ``chosen``/``rejected`` (pairwise)
and ``kto_tag``.
"""

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .converters import convert_row
from .errors import DataError, RowError
from .example import Example, Message, Role
from .preview import PreviewError, open_rows
from .readers import resolve_local
from .registry import read_dataset_info

ROLE_NAMES: dict[str, Role] = {
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "function": "function",
    "function_call": "function",
    "observation": "observation",
    "tool": "observation",
}
RESPONSE_ROLES = ("assistant", "function")
OBJECT_KEYS = ("messages", "system", "tools", "chosen", "rejected", "kto_tag")

SAMPLE_MESSAGES: tuple[dict[str, str], ...] = (
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "The capital of France is Paris."},
    {"role": "user", "content": "And of Japan?"},
    {"role": "assistant", "content": "The capital of Japan is Tokyo."},
)
"""A short two-turn conversation with a system message, shown when no sample is named."""


class SampleError(ValueError):
    """A sample that cannot be shown: bad messages, a row out of range, an unreadable dataset. One-line message."""


def _message(item: Any, where: str) -> tuple[str, str]:
    if not isinstance(item, Mapping) or "role" not in item or "content" not in item:
        raise SampleError(f"{where}: a message is an object with 'role' and 'content', got {item!r:.80}")
    role, content = item["role"], item["content"]
    if not isinstance(content, str):
        raise SampleError(f"{where}: 'content' must be text, got {type(content).__name__}")
    if not isinstance(role, str) or (role != "system" and role not in ROLE_NAMES):
        raise SampleError(f"{where}: unknown role {role!r:.80}; use system, user, assistant, function or tool")
    return str(role), content


def _response(value: Any, what: str) -> Message:
    if isinstance(value, str):
        return Message("assistant", value)
    role, content = _message(value, what)
    if ROLE_NAMES.get(role) not in RESPONSE_ROLES:
        raise SampleError(f"{what}: must be an assistant message, got role {role!r}")
    return Message(ROLE_NAMES[role], content)


def tools_text(tools: Any) -> str:
    """Tools as the JSON text an Example holds (text is kept as it is)."""
    if tools is None or isinstance(tools, str):
        return tools or ""
    return json.dumps(tools, ensure_ascii=False)


def example_from_messages(
    messages: Sequence[Any],
    *,
    system: str | None = None,
    tools: Any = None,
    chosen: Any = None,
    rejected: Any = None,
    kto_tag: bool | None = None,
) -> Example:
    """An :class:`Example` from chat messages; ``chosen``/``rejected`` (text or message) make it pairwise."""
    if isinstance(messages, str | bytes) or not isinstance(messages, Sequence):
        raise SampleError(f"messages must be a list of {{'role', 'content'}} objects, got {type(messages).__name__}")
    turns: list[Message] = []
    for i, item in enumerate(messages):
        role, content = _message(item, f"message {i + 1}")
        if role == "system":
            if turns or i != 0:
                raise SampleError(f"message {i + 1}: a system message must come first")
            system = content if system is None else system
            continue
        turns.append(Message(ROLE_NAMES[role], content))
    if not turns:
        raise SampleError("messages: no user or assistant message")
    if (chosen is None) != (rejected is None):
        raise SampleError("a pairwise sample needs both 'chosen' and 'rejected'")
    if chosen is not None:
        if turns[-1].role in RESPONSE_ROLES:
            raise SampleError("a pairwise sample's messages end with the user turn; 'chosen'/'rejected' answer it")
        response = [_response(chosen, "chosen"), _response(rejected, "rejected")]
        prompt = turns
    elif turns[-1].role in RESPONSE_ROLES:
        prompt, response = turns[:-1], turns[-1:]
    else:
        prompt, response = turns, []
    if kto_tag is not None and not isinstance(kto_tag, bool):
        raise SampleError(f"kto_tag must be true or false, got {kto_tag!r}")
    return Example(prompt, response, system=system or "", tools=tools_text(tools), kto_tag=kto_tag)


def as_example(sample: Any) -> Example:
    """An :class:`Example` as given, from a list of messages, or from an object with ``messages`` and extras."""
    if isinstance(sample, Example):
        return sample
    if isinstance(sample, Mapping):
        unknown = sorted(set(sample) - set(OBJECT_KEYS))
        if unknown or "messages" not in sample:
            raise SampleError(f"a sample object has the keys {', '.join(OBJECT_KEYS)} ('messages' is required)")
        extras = {key: sample.get(key) for key in OBJECT_KEYS[1:]}
        return example_from_messages(sample["messages"], **extras)
    return example_from_messages(sample)


def parse_messages_arg(value: str) -> Example:
    """``--messages``: JSON text, ``-`` for stdin, or the path of a JSON file (a message list or a sample object)."""
    if value == "-":
        import sys

        text, where = sys.stdin.read(), "stdin"
    elif value.lstrip()[:1] in ("[", "{"):
        text, where = value, "--messages"
    else:
        path = Path(value)
        if not path.is_file():
            raise SampleError(f"--messages: {value!r} is neither JSON nor an existing file")
        try:
            text, where = path.read_text(encoding="utf-8"), str(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise SampleError(f"--messages: cannot read {path}: {exc}") from None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SampleError(f"{where}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    return as_example(parsed)


def _saved_row(path: str, split: str, row: int) -> tuple[dict[str, Any] | None, int]:
    from datasets import DatasetDict, load_from_disk

    data = load_from_disk(path)
    if isinstance(data, DatasetDict):
        data = data[split] if split in data else data[next(iter(data))]
    return (data[row] if row < len(data) else None), len(data)


def dataset_example(dataset_dir: str | Path, name: str, row: int, media_dir: str | Path | None = None) -> Example:
    """Row ``row`` (0-based, in file order, before any sampling) of local dataset ``name``, converted; its media
    paths start at ``media_dir`` (default ``dataset_dir``, as in training)."""
    if row < 0:
        raise SampleError(f"--row must be 0 or more, got {row}")
    spec = read_dataset_info(dataset_dir).spec(name)
    if spec.load_from != "file":
        raise SampleError(f"dataset {name} is read from {spec.load_from} ({spec.path}); only local files are shown")
    source = resolve_local(spec, str(dataset_dir))
    raw: dict[str, Any] | None = None
    if source.kind == "saved":
        raw, total = _saved_row(source.path, spec.split, row)
    else:
        total = 0
        try:
            for file in source.files:
                rows = open_rows(file)
                found = rows.page(row - total, 1)
                if found:
                    raw = found[0]
                    break
                total += rows.count() or 0
        except PreviewError as exc:
            raise DataError(str(exc), dataset=name) from None
    if raw is None:
        raise SampleError(f"dataset {name} has {total} rows; --row {row} is out of range (rows are 0-based)")
    try:
        return convert_row(raw, spec, str(media_dir or dataset_dir))
    except RowError as exc:
        raise SampleError(f"dataset {name}, row {row}: {exc}") from None
