"""Writing configs: atomic, and keeping the user's key order and comments when the file exists."""

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..util.fs import atomic_write_text
from .groups import GROUP_CLASSES, field_index


def render_yaml(values: Mapping[str, Any], existing_text: str | None = None) -> str:
    """YAML text for ``values``.

    With ``existing_text``, keys already there keep their place and comments, keys no longer in ``values`` are
    removed (the comment lines below them stay) and new keys are appended. Without it, keys are written under one
    ``### group`` heading per group.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.representer.add_representer(type(None), _represent_null)
    yaml.representer.add_representer(float, _represent_float)
    yaml.representer.add_representer(str, _represent_str)
    stream = io.StringIO()
    if existing_text is not None and existing_text.strip():
        document = yaml.load(existing_text)
        if not isinstance(document, CommentedMap):
            document = CommentedMap()
        for key in [k for k in document if k not in values]:
            _delete_keeping_comments(document, key)
        for key, value in values.items():
            if key not in document or document[key] != value:
                document[key] = value
        yaml.dump(document, stream)
        return stream.getvalue()
    index = field_index()
    groups = {group: [k for k in values if k in index and index[k].group == group] for group in GROUP_CLASSES}
    groups["other"] = [k for k in values if k not in index]
    for group, keys in groups.items():
        if keys:
            stream.write(f"{chr(10) if stream.tell() else ''}### {group}\n")
            yaml.dump(CommentedMap((k, values[k]) for k in keys), stream)
    return stream.getvalue()


def _represent_null(representer: Any, _: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def _represent_float(representer: Any, value: float) -> Any:
    """Floats that YAML 1.1 readers (PyYAML, LLaMA-Factory) also read as floats: ``1.0e-05``, not ``1e-05``."""
    text = repr(value)
    if "e" in text and "." not in text.split("e")[0]:
        text = text.replace("e", ".0e", 1)
    if text in ("inf", "-inf", "nan"):
        text = {"inf": ".inf", "-inf": "-.inf", "nan": ".nan"}[text]
    return representer.represent_scalar("tag:yaml.org,2002:float", text)


def _represent_str(representer: Any, value: str) -> Any:
    """Quote strings that a YAML 1.1 reader would take for something else (``no``, ``on``, ``1e-4``, ``null``)."""
    import yaml

    tag = yaml.resolver.Resolver().resolve(yaml.ScalarNode, value, (True, False))
    if tag != "tag:yaml.org,2002:str":
        return representer.represent_scalar("tag:yaml.org,2002:str", value, style="'")
    return representer.represent_str(value)


def _delete_keeping_comments(document: Any, key: str) -> None:
    """Delete ``key``; the comment lines that followed it move to the key before it (or the top of the file)."""
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    keys = list(document)
    token = document.ca.items.get(key, [None, None, None, None])[2]
    del document[key]
    if token is None or "\n" not in token.value:
        return
    rest = token.value.split("\n", 1)[1]
    if not rest.strip():
        return
    position = keys.index(key)
    if position == 0:
        if document.ca.comment is None:
            document.ca.comment = [None, []]
        document.ca.comment[1].append(CommentToken(rest, CommentMark(0), None))
        return
    previous = keys[position - 1]
    slots = document.ca.items.setdefault(previous, [None, None, None, None])
    if slots[2] is None:
        slots[2] = CommentToken("\n" + rest, CommentMark(0), None)
    else:
        slots[2].value += rest


def save_config(path: str | Path, values: Mapping[str, Any]) -> None:
    """Write ``values`` (flat keys, the ones the user set) to ``path`` atomically, keeping comments and order."""
    path = Path(path)
    existing = path.read_text(encoding="utf-8") if path.exists() else None
    atomic_write_text(path, render_yaml(values, existing))
