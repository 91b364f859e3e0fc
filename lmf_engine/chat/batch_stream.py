"""One batched ``generate`` call for chats on one shared model, and one text stream per row of it.

Imported only by :mod:`.pair` (it needs torch and transformers). Each row is one chat: its prompt is left-padded to
the longest, its new tokens are kept until the row ends (a stop id, a stop string, its cancel flag), and its text is
decoded and handed over by its own :class:`.hf_stream.CallbackStreamer` (first token at once, later ones batched).
What ``generate`` writes into a row after it ended (padding) is ignored.
"""

import threading
from array import array
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import torch
from transformers import StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

from .hf_stream import CallbackStreamer, GenerateCall, Generator, StopStringsCriteria
from .settings import SEED, STOP


class RowOutput:
    """One row of a batch: its cancel flag, its text streamer (None: not streamed) and the new token ids it keeps.

    ``last_step`` is the step (1 for the first new token) of the row's last token, once it is known.
    """

    def __init__(self, cancel: threading.Event, streamer: CallbackStreamer | None) -> None:
        self.cancel = cancel
        self.streamer = streamer
        self.ids: list[int] = []
        self.last_step: int | None = None

    def take(self, step: int, token: int, stop_ids: Collection[int]) -> None:
        """Keep the token of ``step`` unless the row ended before it; a stop id is the row's last token."""
        if self.last_step is not None and step > self.last_step:
            return
        self.ids.append(token)
        if token in stop_ids:
            self.last_step = step
        if self.streamer is not None:
            self.streamer.feed([token])

    def end_at(self, step: int) -> None:
        """End the row after the token of ``step`` (no effect when it has ended already)."""
        if self.last_step is None:
            self.last_step = step


class BatchStreamer(BaseStreamer):
    """Hands each row its token of every step (``generate`` puts a ``(batch,)`` tensor per step, after the prompt)."""

    def __init__(self, rows: Sequence[RowOutput], stop_ids: Collection[int]) -> None:
        self.rows = rows
        self.stop_ids = frozenset(stop_ids)
        self._step = -1

    def put(self, value: torch.Tensor) -> None:
        self._step += 1
        if self._step == 0:  # the prompt
            return
        for row, token in zip(self.rows, value.reshape(-1).tolist(), strict=True):
            row.take(self._step, token, self.stop_ids)

    def end(self) -> None:
        for row in self.rows:
            if row.streamer is not None:
                row.streamer.end()


class RowStopCriteria(StoppingCriteria):
    """Ends each row on its own: when its cancel flag is set or (with ``stop_strings``) it wrote a stop string.

    The token that ends a row is still the row's (as :class:`.hf_stream.CancelCriteria` keeps it for one row). While no
    row has ended it answers with the same all-false tensor.
    """

    def __init__(
        self, rows: Sequence[RowOutput], prompt_length: int, stop_strings: StopStringsCriteria | None
    ) -> None:
        self.rows = rows
        self.prompt_length = prompt_length
        self.stop_strings = stop_strings
        self._going: torch.BoolTensor | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        step = input_ids.shape[1] - self.prompt_length
        hits = self.stop_strings(input_ids, scores).tolist() if self.stop_strings else [False] * len(self.rows)
        for row, hit in zip(self.rows, hits, strict=True):
            if hit or row.cancel.is_set():
                row.end_at(step)
        ended = [row.last_step is not None and row.last_step <= step for row in self.rows]
        if any(ended):
            return torch.tensor(ended, dtype=torch.bool, device=input_ids.device)
        if self._going is None:
            self._going = torch.zeros(len(self.rows), dtype=torch.bool, device=input_ids.device)
        return self._going


def prepare_batch(
    generator: Generator,
    prompts: Sequence[Sequence[int]],
    rows: Sequence[RowOutput],
    settings: Mapping[str, Any],
    stop_ids: Sequence[int],
    adapter_names: list[str] | None,
) -> GenerateCall:
    """One ``generate`` call for every prompt (left-padded, with an attention mask), its rows tracked by ``rows``.

    Every row ends at any of ``stop_ids``; ``adapter_names`` (peft's mixed-adapter batch, ``"__base__"`` for the base
    model) names each row's adapter when the model is a PeftModel. Runs with the calling thread's torch threads.
    """
    length = max(len(prompt) for prompt in prompts)
    pad = generator.tokenizer.pad_token_id
    inputs = torch.full((len(prompts), length), stop_ids[0] if pad is None else pad, dtype=torch.long)
    mask = torch.zeros_like(inputs)
    for i, prompt in enumerate(prompts):
        inputs[i, length - len(prompt) :] = torch.frombuffer(array("q", prompt), dtype=torch.long)
        mask[i, length - len(prompt) :] = 1
    stop_strings = StopStringsCriteria(generator.tokenizer, settings[STOP], length) if settings.get(STOP) else None
    kwargs: dict[str, Any] = {
        "inputs": inputs.to(generator.device),
        "attention_mask": mask.to(generator.device),
        "generation_config": generator.config(settings, stop_ids),
        "stopping_criteria": StoppingCriteriaList([RowStopCriteria(rows, length, stop_strings)]),
        "streamer": BatchStreamer(rows, stop_ids),
    }
    if adapter_names is not None:
        kwargs["adapter_names"] = adapter_names
    return GenerateCall(kwargs, length, settings.get(SEED), torch.get_num_threads())
