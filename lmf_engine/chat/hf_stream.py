"""The transformers pieces of the in-process back end: ``generate`` per request, a cancel check and a text streamer.

Imported only by :mod:`.hf_engine` (it needs torch and transformers).
"""

import threading
import time
from array import array
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from tokenizers.decoders import DecodeStream
from transformers import GenerationConfig, StoppingCriteria, StoppingCriteriaList, set_seed
from transformers.generation.streamers import BaseStreamer

from .engine import STREAM_INTERVAL_S
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


class GenerateCall:
    """One prepared ``model.generate`` call: its arguments, the seed to set first, the caller's torch threads."""

    def __init__(self, kwargs: dict[str, Any], prompt_length: int, seed: int | None, threads: int) -> None:
        self.kwargs = kwargs
        self.prompt_length = prompt_length
        self.seed = seed
        self.threads = threads


class Generator:
    """``model.generate`` for one prompt at a time, as the chat engine asks for it.

    :meth:`prepare` builds a call's arguments in the requesting thread, :meth:`run` generates in the worker thread:
    a worker that has just woken up runs its first Python and torch calls up to twice as slowly as the requesting
    thread (measured on CPU), so it is left with ``generate`` alone. What requests share is built once: the model's
    device, and one ``GenerationConfig`` per distinct set of settings and stop ids (``generate`` works on a copy of
    the one it gets).
    """

    MAX_CONFIGS = 64
    """Distinct settings kept (API clients may send a new temperature with every request)."""

    def __init__(self, model: Any, tokenizer: Any) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.device = model.get_input_embeddings().weight.device
        self._configs: dict[tuple[Any, ...], GenerationConfig] = {}

    def config(self, settings: Mapping[str, Any], stop_ids: Sequence[int]) -> GenerationConfig:
        """The ``GenerationConfig`` of resolved settings (see :func:`generation_kwargs`)."""
        key = (tuple(stop_ids), *sorted((k, v) for k, v in settings.items() if k not in (SEED, STOP)))
        config = self._configs.get(key)
        if config is None:
            if len(self._configs) >= self.MAX_CONFIGS:
                self._configs.clear()
            kwargs = generation_kwargs(settings, stop_ids, self.tokenizer.pad_token_id)
            config = self._configs[key] = GenerationConfig(**kwargs)
        return config

    def prepare(
        self,
        prompt: Sequence[int],
        settings: Mapping[str, Any],
        stop_ids: Sequence[int],
        cancel: threading.Event,
        emit: Callable[[str], None] | None,
        interval: float = STREAM_INTERVAL_S,
        extra: Mapping[str, Any] | None = None,
    ) -> GenerateCall:
        """A call that generates after ``prompt`` until ``stop_ids`` (or ``cancel``), streaming text to ``emit``
        (the first token's text at once, later text at most every ``interval`` seconds).

        The call runs with the calling thread's torch intra-op thread count (a worker thread started before
        ``torch.set_num_threads`` would keep the old count). ``extra`` are more model inputs (a vision-language
        model's ``pixel_values`` ...), moved to the model's device and its floating dtype.
        """
        # from a buffer: torch.tensor converts a long list one Python int at a time (~0.15 us per token)
        inputs = torch.frombuffer(array("q", prompt), dtype=torch.long).to(self.device).unsqueeze(0)
        criteria: list[StoppingCriteria] = [CancelCriteria(cancel)]
        if settings.get(STOP):
            criteria.append(StopStringsCriteria(self.tokenizer, settings[STOP], len(prompt)))
        kwargs = {
            "inputs": inputs,
            "attention_mask": torch.ones_like(inputs),
            "generation_config": self.config(settings, stop_ids),
            "stopping_criteria": StoppingCriteriaList(criteria),
            "streamer": (
                CallbackStreamer(self.tokenizer, settings["skip_special_tokens"], emit, interval) if emit else None
            ),
        }
        for key, value in (extra or {}).items():
            dtype = self.model.dtype if torch.is_floating_point(value) else None
            kwargs[key] = value.to(self.device, dtype=dtype)
        return GenerateCall(kwargs, len(prompt), settings.get(SEED), torch.get_num_threads())

    def run(self, call: GenerateCall) -> list[int]:
        """The new token ids of a prepared one-prompt call."""
        return self.generate(call)[0, call.prompt_length :].tolist()

    def generate(self, call: GenerateCall) -> torch.Tensor:
        """Run a prepared call: every row's prompt and new tokens, as ``generate`` returns them."""
        if torch.get_num_threads() != call.threads:
            torch.set_num_threads(call.threads)
        if call.seed is not None:
            set_seed(call.seed)
        with torch.inference_mode():
            return self.model.generate(**call.kwargs)


class CancelCriteria(StoppingCriteria):
    """Stops generation as soon as ``event`` is set (``stop()``, a closed stream, a client gone).

    Checked after every token: while the event is clear it answers with the same all-false tensor (one generation
    keeps its rows and device; transformers combines criteria without changing their answers in place).
    """

    def __init__(self, event: threading.Event) -> None:
        self.event = event
        self._going: torch.BoolTensor | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        if self.event.is_set():
            return torch.ones(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        if self._going is None:
            self._going = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        return self._going


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
    """Decodes new tokens and hands the new text to ``emit`` (called in generate's thread).

    The first token's text goes out at once (time to first token); later tokens are gathered and decoded together
    once ``min_interval`` seconds have passed since text last went out, and at the end. Decoding and handing over
    every token on its own costs a fast model (the tiny test model on CPU) about 2% of its speed, and waking the
    consumer for every token costs more (its thread competes for the GIL with generation); 50 updates a second still
    read as smooth.

    With a fast tokenizer it decodes incrementally in Rust (``tokenizers``' ``DecodeStream``: constant work per
    token, an incomplete UTF-8 character held until it is whole). Otherwise it decodes the tokens of the current line
    again with each batch, as transformers' ``TextIteratorStreamer`` does per token (the cache is reset after a
    newline), holding back a trailing incomplete character.
    """

    def __init__(
        self,
        tokenizer: Any,
        skip_special_tokens: bool,
        emit: Callable[[str], None],
        min_interval: float = STREAM_INTERVAL_S,
    ) -> None:
        self.tokenizer = tokenizer
        self.skip_special_tokens = skip_special_tokens
        self.emit = emit
        self.min_interval = min_interval
        self._prompt_seen = False
        self._backend = getattr(tokenizer, "_tokenizer", None)
        self._stream = DecodeStream(skip_special_tokens=skip_special_tokens) if self._backend is not None else None
        self._pending: list[int] = []
        self._next_emit = float("-inf")
        self._ids: list[int] = []
        self._sent = 0

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self.feed(value.tolist() if value.dim() == 1 else value.reshape(-1).tolist())

    def feed(self, ids: list[int]) -> None:
        """Take new token ids (the prompt already skipped), as :meth:`put` does for a one-row generation."""
        self._pending += ids
        now = time.monotonic()
        if now >= self._next_emit and self._flush():
            self._next_emit = now + self.min_interval

    def end(self) -> None:
        self._flush()
        if self._ids and (piece := self._decode()[self._sent :]):
            self.emit(piece)
        self._ids, self._sent = [], 0

    def _flush(self) -> bool:
        """Decode the pending tokens and emit their text; False when there was no text to emit yet."""
        ids, self._pending = self._pending, []
        if self._stream is not None:
            step, backend = self._stream.step, self._backend
            text = "".join(piece for token in ids if (piece := step(backend, token)))
        else:
            text = self._decode_line(ids)
        if text:
            self.emit(text)
        return bool(text)

    def _decode_line(self, ids: list[int]) -> str:
        self._ids.extend(ids)
        text = self._decode()
        if text.endswith("\ufffd"):
            return ""
        piece = text[self._sent :]
        if text.endswith("\n"):
            self._ids, self._sent = [], 0
        else:
            self._sent = len(text)
        return piece

    def _decode(self) -> str:
        return self.tokenizer.decode(self._ids, skip_special_tokens=self.skip_special_tokens)
