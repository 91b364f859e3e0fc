"""Shared pieces of the encoders: options, LLaMA-Factory's length rules, batch input forms."""

import bisect
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..example import Example, Message

if TYPE_CHECKING:
    from ..multimodal import MediaEncoder

log = logging.getLogger(__name__)

IGNORE_INDEX = -100
Stage = Literal["pt", "sft", "rm", "ppo", "kto"]
Kind = Literal["pretrain", "supervised", "packed_supervised", "pairwise", "feedback", "unsupervised"]
Columns = dict[str, list[Any]]


@dataclass(frozen=True)
class EncodeOptions:
    """The data options the encoders use, with LLaMA-Factory's names and defaults.

    ``cutoff_len`` is the value a user writes; like LLaMA-Factory, an explicit ``packing: true`` or
    ``neat_packing`` makes the encoders use ``cutoff_len - 1`` (packed rows are padded to ``cutoff_len``), while
    pre-training packs by default (``packing: null``) with the full ``cutoff_len``.
    """

    cutoff_len: int = 2048
    train_on_prompt: bool = False
    mask_history: bool = False
    packing: bool | None = None
    neat_packing: bool = False
    media: "MediaEncoder | None" = field(default=None, compare=False)
    """Set for a multimodal template: expands media placeholders, and the rows keep their media columns."""

    def __post_init__(self) -> None:
        if self.mask_history and self.train_on_prompt:
            raise ValueError("`mask_history` is incompatible with `train_on_prompt`.")
        if (self.packing or self.neat_packing) and self.cutoff_len < 2:
            raise ValueError(f"packing needs cutoff_len of at least 2 (got {self.cutoff_len})")

    @property
    def effective_cutoff(self) -> int:
        """The cutoff the encoders apply (one less when packing was asked for)."""
        return self.cutoff_len - 1 if (self.packing or self.neat_packing) else self.cutoff_len

    def packs(self, stage: Stage) -> bool:
        """Whether rows are packed for ``stage`` (pre-training packs unless ``packing: false``)."""
        if self.neat_packing:
            return True
        return self.packing if self.packing is not None else stage == "pt"

    def check_stage(self, stage: Stage) -> None:
        """The option combinations LLaMA-Factory refuses outside sft."""
        if stage != "sft":
            if self.neat_packing:
                raise ValueError("`neat_packing` cannot be set as True except SFT.")
            if self.train_on_prompt or self.mask_history:
                raise ValueError("`train_on_prompt` or `mask_history` cannot be set as True except SFT.")


def processor_kind(stage: Stage, options: EncodeOptions, do_generate: bool = False) -> Kind:
    """Which encoder a stage uses (dpo/orpo/simpo/rm use ``rm``; ppo and generation use unsupervised)."""
    if stage == "pt":
        return "pretrain"
    if stage == "sft" and not do_generate:
        return "packed_supervised" if options.packs(stage) else "supervised"
    if stage == "rm":
        return "pairwise"
    if stage == "kto":
        return "feedback"
    return "unsupervised"


def infer_seqlen(source_len: int, target_len: int, cutoff_len: int) -> tuple[int, int]:
    """Source and target lengths after truncation to ``cutoff_len`` (LLaMA-Factory's rule)."""
    if target_len * 2 < cutoff_len:
        max_target_len = cutoff_len
    elif source_len * 2 < cutoff_len:
        max_target_len = cutoff_len - source_len
    else:
        max_target_len = int(cutoff_len * (target_len / (source_len + target_len)))
    new_target_len = min(max_target_len, target_len)
    new_source_len = min(max(cutoff_len - new_target_len, 0), source_len)
    return new_source_len, new_target_len


def greedy_knapsack(numbers: list[int], capacity: int) -> list[list[int]]:
    """Group lengths into knapsacks of at most ``capacity``: each takes the largest length that still fits.

    ``numbers`` is sorted in place, as LLaMA-Factory does.
    """
    numbers.sort()
    knapsacks = []
    while numbers:
        knapsack = []
        remaining = capacity
        while True:
            index = bisect.bisect(numbers, remaining) - 1
            if index < 0:
                break
            remaining -= numbers[index]
            knapsack.append(numbers.pop(index))
        knapsacks.append(knapsack)
    return knapsacks


def examples_from_columns(batch: Mapping[str, Sequence[Any]]) -> list[Example]:
    """Examples from a ``datasets`` batch with the columns :meth:`Example.to_row` writes."""
    size = len(batch["_prompt"])
    systems = batch.get("_system") or [""] * size
    tools = batch.get("_tools") or [""] * size
    tags = batch.get("_kto_tag") or [None] * size
    images = batch.get("_images") or [None] * size
    videos = batch.get("_videos") or [None] * size
    audios = batch.get("_audios") or [None] * size
    return [
        Example(
            prompt=[Message(m["role"], m["content"]) for m in batch["_prompt"][i]],
            response=[Message(m["role"], m["content"]) for m in (batch["_response"][i] or [])],
            system=systems[i] or "",
            tools=tools[i] or "",
            kto_tag=tags[i],
            images=list(images[i] or ()),
            videos=list(videos[i] or ()),
            audios=list(audios[i] or ()),
        )
        for i in range(size)
    ]


def as_examples(examples: Sequence[Example] | Mapping[str, Sequence[Any]]) -> list[Example]:
    """Examples as given, or read from a column batch."""
    if isinstance(examples, Mapping):
        return examples_from_columns(examples)
    return list(examples)


def with_media(options: EncodeOptions, messages: Sequence[Message], example: Example) -> list[Message]:
    """``messages`` with ``example``'s media placeholders expanded (unchanged without a media encoder)."""
    return options.media.expand(messages, example) if options.media is not None else list(messages)


def media_prefix(options: EncodeOptions, example: Example, tokenizer: Any) -> list[int]:
    """The ids the template's plugin puts before ``example``'s prompt (PaliGemma's image tokens), usually none."""
    return options.media.prefix_ids(example, tokenizer) if options.media is not None else []


def media_columns(options: EncodeOptions, kept: Sequence[Example]) -> Columns:
    """The ``images``, ``videos`` and ``audios`` columns of the encoded rows (multimodal templates only)."""
    if options.media is None:
        return {}
    return {kind: [getattr(ex, kind) or None for ex in kept] for kind in ("images", "videos", "audios")}


def warn_dropped(example: Example) -> None:
    """Log an example that an encoder skips because its turns do not fit the stage."""
    turns = [(m.role, m.content) for m in [*example.prompt, *example.response]]
    log.warning("Dropped invalid example: %s", turns)
