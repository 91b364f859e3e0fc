"""Does the loaded tokenizer encode text as the model folder's ``tokenizer.json`` does?

transformers 5 loads some model types with their own tokenizer class whatever ``tokenizer_config.json`` names (qwen2
among them); that class rebuilds the tokenizer from the vocabulary and merges with its own normalizer and
pre-tokenizer, so a custom or converted tokenizer can split text differently from how its model was trained.

    mismatch = compare_with_file(tokenizer)  # None when they agree or there is no tokenizer.json to compare with

A few fixed samples are encoded by both. Loading ``tokenizer.json`` (the slow part for a large vocabulary) and its
encodings are cached per (file path, mtime, size); the loaded tokenizer's side is recomputed on every call (well
under a millisecond for a fast tokenizer), so a tokenizer changed after loading is never judged by a stale result.
"""

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .inspect import token_texts

FILE_NAME = "tokenizer.json"
SAMPLES: tuple[str, ...] = (
    "Hello World, HELLO world! MiXeD CaSe.",
    "I don't know; you're sure it's OK? WE'LL SEE.",
    "12345 + 678 = 13023, pi is 3.14159",
    "你好，世界！中文分词测试。",
    "a  b   c\t\td\n\n\ne    f  \n",
    "def f(x):\n    return x**2  # ok",
)
"""Short texts that exercise what pre-tokenizers disagree on: case, contractions, digit runs, CJK, whitespace runs."""


@dataclass(frozen=True)
class FileMismatch:
    """The first sample the loaded tokenizer encodes differently from ``tokenizer.json``, and what explains it."""

    path: str
    sample: str
    loaded_ids: tuple[int, ...]
    file_ids: tuple[int, ...]
    loaded_pieces: tuple[str, ...]
    file_pieces: tuple[str, ...]
    differing: int
    total: int
    loaded_class: str
    model_type: str | None
    differs_in: tuple[str, ...]
    """Components whose settings differ: ``pre-tokenizer``, ``normalizer``, ``model`` (empty when none do)."""
    extra_added: tuple[str, ...]
    """Added tokens of the loaded tokenizer that the file lacks (``add_tokens`` in the config, template fixes)."""


@dataclass(frozen=True)
class _FileSide:
    ids: tuple[tuple[int, ...], ...]
    pieces: tuple[tuple[str, ...], ...]
    normalizer: Any
    pre_tokenizer: Any
    model: str
    added: frozenset[str]


class _FileDecoder:
    """``tokenizers.Tokenizer`` with the ``decode`` signature :func:`token_texts` calls."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend

    def decode(self, ids: list[int], skip_special_tokens: bool = False, **_: Any) -> str:
        return self.backend.decode(ids, skip_special_tokens=skip_special_tokens)


def _state(component: Any) -> Any:
    """A normalizer's or pre-tokenizer's settings as JSON data (None when there is none)."""
    if component is None:
        return None
    try:
        return json.loads(component.__getstate__())
    except Exception:  # an unusual component: compare its repr
        return repr(component)


def _pieces(tokenizer: Any, ids: list[int]) -> tuple[str, ...]:
    try:
        return tuple(token_texts(tokenizer, ids))
    except Exception:  # a tokenizer that cannot decode its own ids one by one
        return tuple(str(i) for i in ids)


def _added(backend: Any) -> frozenset[str]:
    return frozenset(token.content for token in backend.get_added_tokens_decoder().values())


@lru_cache(maxsize=8)
def _file_side(path: str, mtime_ns: int, size: int) -> _FileSide | None:
    """The file's encodings of :data:`SAMPLES`; the mtime and size only key the cache."""
    from tokenizers import Tokenizer

    try:
        backend = Tokenizer.from_file(path)
    except Exception:  # not a tokenizers file this version reads: nothing to compare with
        return None
    backend.no_truncation()
    backend.no_padding()
    ids = [backend.encode(text, add_special_tokens=False).ids for text in SAMPLES]
    decoder = _FileDecoder(backend)
    return _FileSide(
        tuple(tuple(i) for i in ids),
        tuple(_pieces(decoder, i) for i in ids),
        _state(backend.normalizer),
        _state(backend.pre_tokenizer),
        type(backend.model).__name__,
        _added(backend),
    )


def _hub_file(name: str, filename: str, tokenizer: Any) -> str | None:
    """A hub model's cached file, never downloaded."""
    try:
        from huggingface_hub import try_to_load_from_cache

        kwargs = getattr(tokenizer, "init_kwargs", {}) or {}
        found = try_to_load_from_cache(
            name, filename, cache_dir=kwargs.get("cache_dir"), revision=kwargs.get("revision")
        )
    except Exception:  # not a repo id, or no hub client
        return None
    return found if isinstance(found, str) else None


def tokenizer_file(tokenizer: Any) -> Path | None:
    """The ``tokenizer.json`` the tokenizer was loaded from: in its model folder, or a cached hub download."""
    name = getattr(tokenizer, "name_or_path", None)
    if not isinstance(name, str) or not name:
        return None
    if os.path.isdir(name):
        path = Path(os.path.abspath(name), FILE_NAME)
        return path if path.is_file() else None
    found = _hub_file(name, FILE_NAME, tokenizer)
    return Path(found) if found else None


def _model_type(file: Path) -> str | None:
    """``model_type`` from the config.json beside the tokenizer file (the folder or the hub snapshot)."""
    try:
        model_type = json.loads((file.parent / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError):
        return None
    return model_type if isinstance(model_type, str) else None


def compare_with_file(tokenizer: Any) -> FileMismatch | None:
    """The first of :data:`SAMPLES` the tokenizer encodes unlike its ``tokenizer.json``; None if all agree or there
    is no file to compare with."""
    file = tokenizer_file(tokenizer)
    if file is None:
        return None
    try:
        stat = file.stat()
    except OSError:
        return None
    side = _file_side(str(file), stat.st_mtime_ns, stat.st_size)
    if side is None:
        return None
    loaded = [list(tokenizer.encode(text, add_special_tokens=False)) for text in SAMPLES]
    differing = [n for n, ids in enumerate(loaded) if tuple(ids) != side.ids[n]]
    if not differing:
        return None
    first = differing[0]
    backend = getattr(tokenizer, "backend_tokenizer", None)
    differs_in: list[str] = []
    extra: tuple[str, ...] = ()
    if backend is not None:
        if _state(backend.pre_tokenizer) != side.pre_tokenizer:
            differs_in.append("pre-tokenizer")
        if _state(backend.normalizer) != side.normalizer:
            differs_in.append("normalizer")
        if type(backend.model).__name__ != side.model:
            differs_in.append("model")
        extra = tuple(sorted(_added(backend) - side.added))
    return FileMismatch(
        path=str(file),
        sample=SAMPLES[first],
        loaded_ids=tuple(loaded[first]),
        file_ids=side.ids[first],
        loaded_pieces=_pieces(tokenizer, loaded[first]),
        file_pieces=side.pieces[first],
        differing=len(differing),
        total=len(SAMPLES),
        loaded_class=type(tokenizer).__name__,
        model_type=_model_type(file),
        differs_in=tuple(differs_in),
        extra_added=extra,
    )
