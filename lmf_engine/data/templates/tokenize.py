"""Turning elements into token ids, in batches, with the ids LLaMA-Factory's per-element ``encode`` gives.

The tokenizer is passed in (a ``transformers`` tokenizer); nothing here imports transformers. Text elements are
deduplicated and encoded in one batch: through the fast tokenizer's Rust backend when the tokenizer is a plain fast
tokenizer (the same call ``tokenizer.encode`` ends in), else through ``tokenizer.encode`` one text at a time.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from .slots import Element, SpecialRef, TokenRef

_STANDARD_ENCODE = "PreTrainedTokenizerBase.encode"
_STANDARD_ENCODE_PLUS = "TokenizersBackend._encode_plus"


def _qualname(tokenizer: Any, attr: str) -> str:
    return getattr(getattr(type(tokenizer), attr, None), "__qualname__", "")


def fast_backend(tokenizer: Any) -> Any | None:
    """The ``tokenizers.Tokenizer`` behind ``tokenizer`` when calling it directly gives ``encode``'s ids, else None."""
    backend = getattr(tokenizer, "_tokenizer", None)
    if backend is None or not hasattr(backend, "encode_batch_fast"):
        return None
    if _qualname(tokenizer, "encode") != _STANDARD_ENCODE:
        return None
    if _qualname(tokenizer, "_encode_plus") != _STANDARD_ENCODE_PLUS:
        return None
    if getattr(tokenizer, "split_special_tokens", False) or backend.encode_special_tokens:
        return None
    if backend.truncation is not None or backend.padding is not None:
        return None
    return backend


def encode_texts(tokenizer: Any, texts: Sequence[str], use_backend: bool = True) -> list[list[int]]:
    """``tokenizer.encode(text, add_special_tokens=False)`` for every text, batched where it is safe."""
    if not texts:
        return []
    backend = fast_backend(tokenizer) if use_backend else None
    if backend is not None:
        return [enc.ids for enc in backend.encode_batch_fast(list(texts), add_special_tokens=False)]
    return [tokenizer.encode(text, add_special_tokens=False) for text in texts]


def _size(text: str, ids: list[int]) -> int:
    return len(text) + 8 * len(ids)


class ElementEncoder:
    """Caches text → ids for one tokenizer and converts element lists to ids.

    Call :meth:`prepare` with every element list of a batch first (one batched encode of the new texts), then
    :meth:`ids` per list. The cache is kept across batches (system prompts and tool lists repeat) and emptied when
    it would pass ``max_cache`` texts or ``max_cache_bytes`` (a text counts its characters and 8 bytes per id; a
    text over a sixteenth of that is never kept). ``ids(..., keep=False)`` keeps the texts it had to encode aside
    until :meth:`commit`, so that a caller can drop what it then refuses (a prompt too long for the model). Named
    tokens map through ``convert_tokens_to_ids``; bos/eos to the tokenizer's ids, or to nothing when it has none.
    Empty texts give no ids.
    """

    def __init__(
        self, tokenizer: Any, use_backend: bool = True, max_cache: int = 65536, max_cache_bytes: int = 64 << 20
    ) -> None:
        self.tokenizer = tokenizer
        self.use_backend = use_backend
        self.max_cache = max_cache
        self.max_cache_bytes = max_cache_bytes
        self._text: dict[str, list[int]] = {"": []}
        self._bytes = 0
        self._fresh: dict[str, list[int]] = {}
        self._token: dict[str, Any] = {}
        self._special = {"bos_token": tokenizer.bos_token_id, "eos_token": tokenizer.eos_token_id}

    @property
    def eos_id(self) -> int | None:
        """The tokenizer's eos id (as it was when this encoder was made)."""
        return self._special["eos_token"]

    def prepare(self, element_lists: Iterable[Iterable[Element]]) -> None:
        """Encode, in one batch, every text element not seen before."""
        new: dict[str, None] = {}
        for elements in element_lists:
            for elem in elements:
                if isinstance(elem, str) and elem not in self._text:
                    new[elem] = None
        texts = list(new)
        encoded = encode_texts(self.tokenizer, texts, self.use_backend)
        size = sum(_size(text, ids) for text, ids in zip(texts, encoded, strict=True))
        if len(self._text) + len(texts) > self.max_cache or self._bytes + size > self.max_cache_bytes:
            self._text, self._bytes = {"": []}, 0  # bounded: a batch's own texts are kept until the next prepare
        for text, ids in zip(texts, encoded, strict=True):
            self._text[text] = ids
            self._bytes += _size(text, ids)

    def _store(self, text: str, ids: list[int]) -> None:
        size = _size(text, ids)
        if size > self.max_cache_bytes // 16:
            return
        if len(self._text) >= self.max_cache or self._bytes + size > self.max_cache_bytes:
            self._text, self._bytes = {"": []}, 0
        self._text[text] = ids
        self._bytes += size

    def text_ids(self, text: str, keep: bool = True) -> list[int]:
        """The ids of one text (encoded now when not prepared; set aside for :meth:`commit` unless ``keep``)."""
        ids = self._text.get(text)
        if ids is None:
            ids = self._fresh.get(text)
        if ids is None:
            ids = encode_texts(self.tokenizer, [text], self.use_backend)[0]
            if keep:
                self._store(text, ids)
            else:
                self._fresh[text] = ids
        return ids

    def commit(self) -> None:
        """Keep the texts that ``ids(..., keep=False)`` encoded since the last commit or discard."""
        for text, ids in self._fresh.items():
            self._store(text, ids)
        self._fresh = {}

    def discard(self) -> None:
        """Forget the texts set aside by ``ids(..., keep=False)``."""
        self._fresh = {}

    @property
    def cached_bytes(self) -> int:
        """The size the cache counts (characters of its texts and 8 bytes per id)."""
        return self._bytes

    def ids(self, elements: Iterable[Element], keep: bool = True) -> list[int]:
        """The ids of an element list (LLaMA-Factory's ``_convert_elements_to_ids``)."""
        out: list[int] = []
        for elem in elements:
            if isinstance(elem, str):
                out += self.text_ids(elem, keep)
            elif isinstance(elem, TokenRef):
                if elem.token not in self._token:
                    self._token[elem.token] = self.tokenizer.convert_tokens_to_ids(elem.token)
                out.append(self._token[elem.token])
            elif isinstance(elem, SpecialRef):
                special = self._special.get(elem.name)
                if special is not None:
                    out.append(special)
            else:
                raise ValueError(f"Input must be string, set[str] or dict[str, str], got {type(elem)}")
        return out
