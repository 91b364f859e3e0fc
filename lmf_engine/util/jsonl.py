"""Reading JSON Lines files that another process is appending to, from a byte offset."""

import json
import os
from typing import Any


def read_jsonl(path: str | os.PathLike[str], offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Read the complete JSON objects after byte ``offset``; return them and the offset to read on from.

    A last line without its newline (half written) is not consumed. Complete lines that are not JSON objects are
    skipped. A file shorter than ``offset`` (it was replaced) is read again from the start; a missing file gives
    ``([], offset)``.
    """
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if offset > size:
                offset = 0
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n")
    if end < 0:
        return [], offset
    objects = []
    for raw in data[: end + 1].splitlines():
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        if isinstance(value, dict):
            objects.append(value)
    return objects, offset + end + 1
