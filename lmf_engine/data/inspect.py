"""The template view: one sample encoded exactly as training encodes it, token by token, with each token's role.

    setup = setup_from_config(config)                       # tokenizer + template, fixed as training fixes them
    sample = render_sample(setup.template, setup.tokenizer, messages, setup.options, stage="sft")
    for token in sample.tokens:
        print(token.id, repr(token.text), token.role, token.special)

The encoders are those of :mod:`lmf_engine.data.processors`, so the ids and labels shown are the ones trained on.
A token is ``trained`` when its label is not ``IGNORE_INDEX``; ``special`` is a separate flag (tokenizer special
tokens and added special tokens), so a trained special token such as the closing ``<|im_end|>`` is both.
:func:`render_sample` is pure apart from fixing the tokenizer when given a template name; it prints nothing and may
run in a worker thread.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from .converters import check_for_stage
from .example import Example, Message
from .media_paths import MEDIA_KINDS, SINGULAR
from .multimodal import MediaUnsupported
from .processors import (
    IGNORE_INDEX,
    EncodeOptions,
    encode_feedback,
    encode_pairwise,
    encode_pretrain,
    encode_supervised,
    encode_unsupervised,
    kto_pair,
)
from .samples import SampleError, as_example, tools_text
from .templates import Element, SpecialRef, Template, TokenRef, get_template_and_fix_tokenizer

if TYPE_CHECKING:
    from lmf_engine.config import Config

STAGES: tuple[str, ...] = ("pt", "sft", "rm", "dpo", "kto", "ppo")
"""Stages the view encodes for: dpo is shown as rm's pairs, ppo as the prompt only (it trains on generated text)."""
TokenRole = Literal["trained", "masked", "special"]
FOLD_SPECIAL_RUN = 4
"""A run of this many identical special tokens is folded even when it is not one of the template's media tokens."""
_UNLIMITED = 1 << 30


@dataclass(frozen=True, slots=True)
class TokenView:
    """One token: its id, a readable piece of text, its label and whether it is a special token.

    ``text`` pieces join to the decoded sequence: a character split over several byte tokens appears on the token
    that completes it (the others have ``""``). ``piece`` is the vocabulary entry (``convert_ids_to_tokens``).
    """

    index: int
    id: int
    text: str
    piece: str
    label: int
    special: bool

    @property
    def trained(self) -> bool:
        """The loss is computed on this position (its label is not ``IGNORE_INDEX``)."""
        return self.label != IGNORE_INDEX

    @property
    def role(self) -> TokenRole:
        """``trained``, else ``special`` for a masked special token, else ``masked`` (see also :attr:`special`)."""
        if self.trained:
            return "trained"
        return "special" if self.special else "masked"

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "id": self.id,
            "text": self.text,
            "piece": self.piece,
            "label": self.label,
            "role": self.role,
            "trained": self.trained,
            "special": self.special,
        }


@dataclass(frozen=True)
class SequenceView:
    """One encoded sequence: ``sample`` (sft, kto), ``chosen``/``rejected`` (rm, dpo), ``prompt`` (ppo), ``text`` (pt).

    ``truncated`` is True when ``cutoff_len`` cut tokens off.
    """

    name: str
    input_ids: list[int]
    labels: list[int]
    tokens: list[TokenView]
    truncated: bool = False

    @property
    def text(self) -> str:
        """The decoded sequence (special tokens included)."""
        return "".join(token.text for token in self.tokens)

    def counts(self) -> dict[str, int]:
        """How many tokens are trained, masked and special."""
        return {
            "tokens": len(self.tokens),
            "trained": sum(t.trained for t in self.tokens),
            "masked": sum(not t.trained for t in self.tokens),
            "special": sum(t.special for t in self.tokens),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "text": self.text,
            "input_ids": self.input_ids,
            "labels": self.labels,
            "truncated": self.truncated,
            "counts": self.counts(),
            "tokens": [token.to_dict() for token in self.tokens],
        }


@dataclass(frozen=True)
class TokenRun:
    """Consecutive identical tokens from ``start`` (a token index), such as the ``<|image_pad|>`` an image becomes."""

    start: int
    length: int
    id: int
    piece: str

    @property
    def end(self) -> int:
        """The index after the run's last token."""
        return self.start + self.length

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "length": self.length, "id": self.id, "piece": self.piece}


def media_runs(tokens: Sequence[TokenView], media_pieces: Collection[str] = ()) -> list[TokenRun]:
    """Runs to fold when showing ``tokens``: two or more of a media token (``media_pieces``, the template's image,
    video and audio tokens), or FOLD_SPECIAL_RUN or more of one special token (a plugin's words)."""
    runs: list[TokenRun] = []
    start = 0
    while start < len(tokens):
        first = tokens[start]
        end = start + 1
        while end < len(tokens) and tokens[end].id == first.id:
            end += 1
        length = end - start
        if (first.piece in media_pieces and length >= 2) or (first.special and length >= FOLD_SPECIAL_RUN):
            runs.append(TokenRun(start, length, first.id, first.piece))
        start = end
    return runs


@dataclass(frozen=True)
class RenderedSample:
    """A sample as training sees it. ``text``, ``input_ids``, ``labels`` and ``tokens`` are the first sequence's."""

    template: Template
    stage: str
    example: Example
    options: EncodeOptions
    sequences: tuple[SequenceView, ...]

    @property
    def main(self) -> SequenceView:
        """The first sequence: ``sample``, ``chosen``, ``prompt`` or ``text``."""
        return self.sequences[0]

    @property
    def text(self) -> str:
        return self.main.text

    @property
    def input_ids(self) -> list[int]:
        return self.main.input_ids

    @property
    def labels(self) -> list[int]:
        return self.main.labels

    @property
    def tokens(self) -> list[TokenView]:
        return self.main.tokens

    @property
    def media_pieces(self) -> frozenset[str]:
        """The tokens the template's plugin repeats for each image, video and audio."""
        tokens = self.template.media_tokens
        return frozenset(t for t in (tokens.image, tokens.video, tokens.audio) if t)

    def runs(self, name: str | None = None) -> list[TokenRun]:
        """The foldable runs (:func:`media_runs`) of sequence ``name`` (default: the first)."""
        seq = self.main if name is None else self.sequence(name)
        return media_runs(seq.tokens, self.media_pieces)

    def sequence(self, name: str) -> SequenceView:
        """The sequence called ``name`` (KeyError when there is none)."""
        for seq in self.sequences:
            if seq.name == name:
                return seq
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The first sequence's fields at the top level; other sequences (``rejected``) under their names."""
        out: dict[str, Any] = {"template": self.template.name, "stage": self.stage, "sequence": self.main.name}
        out.update({k: v for k, v in self.main.to_dict().items() if k != "name"})
        for seq in self.sequences[1:]:
            out[seq.name] = seq.to_dict()
        return out


@dataclass
class InspectSetup:
    """What the template view needs from a config; ``model_chat_template`` is the tokenizer's own, before fixes."""

    template: Template
    tokenizer: Any
    options: EncodeOptions
    model_chat_template: str | None


def setup_from_config(config: "Config") -> InspectSetup:
    """Load the config's tokenizer and template as training does (raises ModelLoadError, TemplateError)."""
    from lmf_engine.model.tokenizer import load_tokenizer

    from .pipeline import encode_options, template_for

    tokenizer = load_tokenizer(config)
    chat_template = tokenizer.chat_template if isinstance(tokenizer.chat_template, str) else None
    template = template_for(config, tokenizer)
    return InspectSetup(template, tokenizer, encode_options(config, template), chat_template)


def special_ids(tokenizer: Any) -> frozenset[int]:
    """Ids of the tokenizer's special tokens: bos/eos/pad/unk, additional special and added special tokens."""
    ids = set(tokenizer.all_special_ids)
    ids.update(i for i, token in tokenizer.added_tokens_decoder.items() if getattr(token, "special", False))
    ids.update(i for i in (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id) if i is not None)
    return frozenset(ids)


def token_texts(tokenizer: Any, ids: Sequence[int]) -> list[str]:
    """A readable piece per token, decoded incrementally so that multi-byte characters and spaces come out right."""

    def decode(part: Sequence[int]) -> str:
        return tokenizer.decode(list(part), skip_special_tokens=False, clean_up_tokenization_spaces=False)

    texts: list[str] = []
    prefix = read = 0
    for i in range(len(ids)):
        before = decode(ids[prefix:read])
        after = decode(ids[prefix : i + 1])
        if len(after) > len(before) and not after.endswith("\ufffd"):
            texts.append(after[len(before) :])
            prefix, read = read, i + 1
        else:
            texts.append("")
    if read < len(ids):  # an incomplete character at the end: its replacement character goes on the last token
        texts[-1] = decode(ids[prefix:])[len(decode(ids[prefix:read])) :]
    return texts


def elements_text(elements: Sequence[Element], tokenizer: Any) -> str:
    """The text of rendered elements: named tokens as written, bos/eos as the tokenizer's tokens (or nothing)."""
    parts: list[str] = []
    for elem in elements:
        if isinstance(elem, TokenRef):
            parts.append(elem.token)
        elif isinstance(elem, SpecialRef):
            token_id = getattr(tokenizer, f"{elem.name}_id", None)
            parts.append(getattr(tokenizer, elem.name) if token_id is not None else "")
        else:
            parts.append(elem)
    return "".join(parts)


def turn_elements(
    template: Template, example: Example, stage: str, options: EncodeOptions | None = None
) -> list[tuple[list[Element], list[Element]]]:
    """(prompt, response) elements per turn, as the stage's encoder renders them (the chosen answer for pairs)."""
    options = options or EncodeOptions()
    if stage == "sft":
        messages = [*example.prompt, *example.response]
        discard = options.mask_history and not template.preserve_thinking
        return template.render_multiturn(messages, example.system, example.tools, discard)
    if stage == "kto":
        pair = kto_pair(example)
        answer = pair[0] if pair[0].content else pair[1]
    elif stage == "ppo":
        answer = example.response[0] if len(example.response) == 1 else Message("assistant", "")
    else:
        answer = example.response[0]
    return [template.render_oneturn([*example.prompt, answer], example.system, example.tools)]


def template_text(
    template: Template, tokenizer: Any, example: Example, stage: str = "sft", options: EncodeOptions | None = None
) -> str:
    """The whole text the template renders for ``example`` before tokenization and truncation."""
    turns = turn_elements(template, example, stage, options)
    return "".join(elements_text(prompt, tokenizer) + elements_text(response, tokenizer) for prompt, response in turns)


def first_difference(ours: str, theirs: str, names: tuple[str, str] = ("training", "the jinja template")) -> str:
    """Where two texts part: the line and a few characters of each from just before that point."""
    k = next((i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b), min(len(ours), len(theirs)))
    line = ours.count("\n", 0, k) + 1
    start = max(0, k - 20)
    ours, theirs = ours[start : k + 30], theirs[start : k + 30]
    return f"at line {line}: {names[0]} writes {ours!r} where {names[1]} writes {theirs!r}"


def _encode(
    template: Template, tokenizer: Any, example: Example, options: EncodeOptions, stage: str
) -> list[tuple[str, list[int], list[int]]]:
    """(name, input_ids, labels) per sequence, from the training encoders."""
    if stage == "sft":
        out = encode_supervised(template, tokenizer, [example], options)
        return [("sample", out["input_ids"][0], out["labels"][0])]
    if stage in ("rm", "dpo"):
        out = encode_pairwise(template, tokenizer, [example], options)
        return [(side, out[f"{side}_input_ids"][0], out[f"{side}_labels"][0]) for side in ("chosen", "rejected")]
    if stage == "kto":
        out = encode_feedback(template, tokenizer, [example], options)
        return [("sample", out["input_ids"][0], out["labels"][0])]
    if stage == "ppo":
        out = encode_unsupervised(template, tokenizer, [example], options)
        ids = out["input_ids"][0]
        return [("prompt", ids, [IGNORE_INDEX] * len(ids))]
    out = encode_pretrain(template, tokenizer, [example], replace(options, packing=False, neat_packing=False))
    ids = list(out["input_ids"][0])
    pad = tokenizer.pad_token_id  # the pre-training collator (DataCollatorForLanguageModeling) masks pad ids
    return [("text", ids, [IGNORE_INDEX if i == pad else i for i in ids])]


def _check_media(template: Template, example: Example, options: EncodeOptions) -> None:
    """A sample with media needs the media encoder of a multimodal template, as training does."""
    counts = [
        f"{len(paths)} {SINGULAR[kind] if len(paths) == 1 else kind}"
        for kind in MEDIA_KINDS
        if (paths := getattr(example, kind))
    ]
    if not counts or options.media is not None:
        return
    if template.multimodal is None:
        raise SampleError(
            f"the sample has {', '.join(counts)} and template {template.name} takes text only: use a multimodal "
            "model's template (e.g. qwen2_vl, llava), which turns each placeholder into the model's media tokens"
        )
    raise SampleError(f"the sample has {', '.join(counts)}: the encode options need the model's media encoder")


def _check(example: Example, stage: str, options: EncodeOptions) -> None:
    if stage not in STAGES:
        raise SampleError(f"unknown stage {stage!r}; choose one of {', '.join(STAGES)}")
    reason = check_for_stage(example, "predict" if stage == "ppo" else stage)
    if reason:
        raise SampleError(f"this sample cannot be used for stage {stage}: {reason}")
    try:
        options.check_stage("rm" if stage == "dpo" else stage)  # type: ignore[arg-type]
    except ValueError as exc:
        raise SampleError(str(exc)) from None


def render_sample(
    template: Template | str,
    tokenizer: Any,
    example_or_messages: Any,
    options: EncodeOptions | None = None,
    stage: str = "sft",
    *,
    system: str | None = None,
    tools: Any = None,
) -> RenderedSample:
    """Encode one sample as ``stage``'s training encoder does and describe every token.

    ``template`` is a :class:`Template` for a tokenizer already fixed for it (``setup_from_config`` /
    ``get_template_and_fix_tokenizer``), or a template name: the tokenizer is then fixed in place as training fixes
    it (eos, pad, stop words). ``example_or_messages`` is an :class:`Example`, a list of ``{"role", "content"}``
    messages or an object with ``messages`` (see :mod:`lmf_engine.data.samples`); ``system`` and ``tools`` (JSON
    text or a list of tool schemas) replace the sample's own. Pre-training text is shown unpacked. A sample with
    media is encoded with ``options.media`` (its placeholders become the model's media tokens, see
    :meth:`RenderedSample.runs`). Raises :class:`SampleError` for a sample the stage or the template cannot use.
    """
    if isinstance(template, str):
        template = get_template_and_fix_tokenizer(tokenizer, template)
    options = options or EncodeOptions()
    example = as_example(example_or_messages)
    if system is not None or tools is not None:
        example = replace(
            example,
            system=example.system if system is None else system,
            tools=example.tools if tools is None else tools_text(tools),
        )
    _check(example, stage, options)
    _check_media(template, example, options)
    try:
        encoded = _encode(template, tokenizer, example, options, stage)
        full = _encode(template, tokenizer, example, replace(options, cutoff_len=_UNLIMITED), stage)
    except MediaUnsupported as exc:
        raise SampleError(str(exc)) from None
    sequences = tuple(
        sequence_view(tokenizer, name, ids, labels, truncated=len(full_ids) > len(ids))
        for (name, ids, labels), (_, full_ids, _) in zip(encoded, full, strict=True)
    )
    return RenderedSample(template, stage, example, options, sequences)


def sequence_view(
    tokenizer: Any, name: str, ids: Sequence[int], labels: Sequence[int] | None = None, truncated: bool = False
) -> SequenceView:
    """Describe every token of ``ids`` (labels default to all masked: a prompt, as the chat engines send it)."""
    labels = list(labels) if labels is not None else [IGNORE_INDEX] * len(ids)
    specials = special_ids(tokenizer)
    pieces = tokenizer.convert_ids_to_tokens(list(ids))
    tokens = [
        TokenView(i, token_id, text, str(piece), label, token_id in specials)
        for i, (token_id, text, piece, label) in enumerate(
            zip(ids, token_texts(tokenizer, ids), pieces, labels, strict=True)
        )
    ]
    return SequenceView(name, list(ids), labels, tokens, truncated)
