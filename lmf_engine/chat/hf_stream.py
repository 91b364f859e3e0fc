"""The transformers pieces of the in-process back end: generation kwargs, a cancel check and a text streamer.

Imported only by :mod:`.hf_engine` (it needs torch and transformers).
"""

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from tokenizers.decoders import DecodeStream
from transformers import StoppingCriteria
from transformers.generation.streamers import BaseStreamer

from .settings import SEED, STOP


def generation_kwargs(settings: Mapping[str, Any], stop_ids: Sequence[int], pad_id: int | None) -> dict[str, Any]:
    """``GenerationConfig`` arguments for resolved settings, as LLaMA-Factory's chat engine builds them.

    Temperature 0 means greedy decoding; greedy decoding drops the sampling knobs; ``max_new_tokens`` wins over
    ``max_length`` unless it is None. Stop strings are checked by :class:`StopStringsCriteria`.
    """
    kwargs = {k: v for k, v in settings.items() if k not in (SEED, STOP, "skip_special_tokens")}
    kwargs.update(eos_token_id=list(stop_ids), pad_token_id=pad_id)
    if not kwargs.get("temperature"):
        kwargs["do_sample"] = False
    if not kwargs["do_sample"]:
        for key in ("temperature", "top_p", "top_k"):
            kwargs.pop(key, None)
    if kwargs.get("max_new_tokens"):
        kwargs.pop("max_length", None)
    else:
        kwargs.pop("max_new_tokens", None)
    return kwargs


class CancelCriteria(StoppingCriteria):
    """Stops generation as soon as ``event`` is set (``stop()``, a closed stream, a client gone)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        done = self.event.is_set()
        return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)


class StopStringsCriteria(StoppingCriteria):
    """Stops when the generated text (never the prompt) contains a stop string.

    Checked after every token on the text of the last few tokens, enough to hold the longest stop string.
    """

    def __init__(self, tokenizer: Any, stop: Sequence[str], prompt_length: int) -> None:
        self.tokenizer = tokenizer
        self.stop = list(stop)
        self.prompt_length = prompt_length
        self.window = max(len(word) for word in self.stop) + 2

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        start = max(self.prompt_length, input_ids.shape[1] - self.window)
        done = [any(word in self.tokenizer.decode(row[start:]) for word in self.stop) for row in input_ids.tolist()]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


class CallbackStreamer(BaseStreamer):
    """Decodes new tokens as they come and hands each new piece of text to ``emit`` (called in generate's thread).

    With a fast tokenizer it decodes incrementally in Rust (``tokenizers``' ``DecodeStream``: constant work per
    token, an incomplete UTF-8 character held until it is whole). Otherwise it decodes the tokens of the current line
    again with each new token, as transformers' ``TextIteratorStreamer`` does (the cache is reset after a newline),
    holding back a trailing incomplete character. Either way text goes out at once, not at the next space.
    """

    def __init__(self, tokenizer: Any, skip_special_tokens: bool, emit: Callable[[str], None]) -> None:
        self.tokenizer = tokenizer
        self.skip_special_tokens = skip_special_tokens
        self.emit = emit
        self._prompt_seen = False
        self._backend = getattr(tokenizer, "_tokenizer", None)
        self._stream = DecodeStream(skip_special_tokens=skip_special_tokens) if self._backend is not None else None
        self._ids: list[int] = []
        self._sent = 0

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        ids = value.reshape(-1).tolist()
        if self._stream is not None:
            pieces = [self._stream.step(self._backend, token) for token in ids]
            if text := "".join(piece for piece in pieces if piece):
                self.emit(text)
            return
        self._ids.extend(ids)
        text = self._decode()
        if text.endswith("\ufffd"):
            return
        piece = text[self._sent :]
        if text.endswith("\n"):
            self._ids, self._sent = [], 0
        else:
            self._sent = len(text)
        if piece:
            self.emit(piece)

    def _decode(self) -> str:
        return self.tokenizer.decode(self._ids, skip_special_tokens=self.skip_special_tokens)

    def end(self) -> None:
        if self._ids and (piece := self._decode()[self._sent :]):
            self.emit(piece)
        self._ids, self._sent = [], 0
