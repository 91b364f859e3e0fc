"""Known template traps, found in one rendered sample: each check looks at the ids and labels training uses.

    traps = detect_traps(template, tokenizer, messages, options, stage="sft", chat_template=model_chat_template)

Codes: ``double_bos`` (two BOS at the start of the trained ids), ``double_bos_retokenized`` (the template writes BOS
and the tokenizer adds another when the text is tokenized as usual), ``nothing_trained``, ``eos_not_trained`` and
``eos_truncated`` (a trained turn without its end token), ``pad_is_eos``, ``boundary_merge`` (prompt and response
tokens merge when tokenized as one text), ``template_mismatch`` (the text differs from the tokenizer's jinja chat
template; ``no_chat_template``, ``chat_template_from_template``, ``chat_template_skipped`` and
``chat_template_error`` are notes when no comparison is made), ``empty_think_trained`` and
``tokenizer_file_mismatch`` (the loaded tokenizer encodes text unlike the model's tokenizer.json). Pure: prints
nothing.
"""

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .inspect import (
    RenderedSample,
    SequenceView,
    elements_text,
    first_difference,
    render_sample,
    template_text,
    token_texts,
    turn_elements,
)
from .processors import IGNORE_INDEX, EncodeOptions
from .templates import ElementEncoder, Template, encode_texts, stop_token_ids, to_jinja
from .tokenizer_file import FileMismatch, compare_with_file

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}
TOOL_ROLES = ("function", "observation")


@dataclass(frozen=True)
class Trap:
    """One problem (or ``info`` note): ``positions`` are token indexes in ``sequence`` to highlight."""

    code: str
    severity: Severity
    message: str
    sequence: str | None = None
    positions: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "sequence": self.sequence,
            "positions": list(self.positions),
        }


def _token(tokenizer: Any, token_id: int | None) -> str:
    return repr(tokenizer.convert_ids_to_tokens(token_id)) if token_id is not None else "(none)"


def _where(rendered: RenderedSample, seq: SequenceView) -> str:
    return f"the {seq.name} sequence" if len(rendered.sequences) > 1 else "the sample"


def _runs(labels: Sequence[int], ignore: int = IGNORE_INDEX) -> Iterator[range]:
    """Maximal runs of trained positions."""
    start = None
    for i, label in enumerate([*labels, ignore]):
        if label != ignore and start is None:
            start = i
        elif label == ignore and start is not None:
            yield range(start, i)
            start = None


def _turns(numbers: Sequence[int], total: int, where: str) -> str:
    if total == 1:
        return where
    noun = "turn" if len(numbers) == 1 else "turns"
    return f"{noun} {', '.join(map(str, numbers))} of {where}"


def _adds_bos(tokenizer: Any) -> bool:
    plain = tokenizer.encode("a", add_special_tokens=False)
    full = tokenizer.encode("a", add_special_tokens=True)
    return len(full) > len(plain) and full[0] == tokenizer.bos_token_id


def check_double_bos(rendered: RenderedSample, tokenizer: Any) -> list[Trap]:
    """Two BOS at the start of the ids, or a template BOS that the tokenizer would add again."""
    bos = tokenizer.bos_token_id
    if bos is None:
        return []
    traps = []
    name = _token(tokenizer, bos)
    for seq in rendered.sequences:
        if seq.input_ids[:2] == [bos, bos]:
            traps.append(
                Trap(
                    "double_bos",
                    "error",
                    f"{_where(rendered, seq)} starts with the BOS token {name} twice (id {bos} at positions 0 and 1); "
                    f"models are pre-trained with one. Look for a literal {name} in the template's prefix or user/"
                    "system format, or at the start of the data's text.",
                    seq.name,
                    (0, 1),
                )
            )
    main = rendered.main
    if not traps and main.input_ids[:1] == [bos] and _adds_bos(tokenizer):
        traps.append(
            Trap(
                "double_bos_retokenized",
                "warning",
                f"the template writes the BOS token {name} at the start of the text and the tokenizer adds its own "
                f"{name} whenever it tokenizes text with special tokens (add_bos_token). Training is right (template "
                "text is tokenized without special tokens), but anything that tokenizes the rendered text or the "
                f"exported chat template the usual way (inference servers, evaluation scripts) gets {name} twice.",
                main.name,
                (0,),
            )
        )
    return traps


def check_eos(rendered: RenderedSample, template: Template, tokenizer: Any) -> list[Trap]:
    """Every trained turn must train an end token (eos or a stop word); ppo trains on generated text instead."""
    if rendered.stage == "ppo":
        return []
    stops = {i for i in stop_token_ids(template, tokenizer) if i is not None and i != tokenizer.unk_token_id}
    names = " or ".join(_token(tokenizer, i) for i in sorted(stops)) or "(the tokenizer has no EOS)"
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    traps = []
    for seq in rendered.sequences:
        runs = list(_runs(seq.labels))
        where = _where(rendered, seq)
        if not runs:
            cut = f"; cutoff_len={rendered.options.cutoff_len} left no room for the response" if seq.truncated else ""
            message = f"no token of {where} is trained (every label is -100){cut}."
            traps.append(Trap("nothing_trained", "error", message, seq.name))
            continue
        missing = [(n, run) for n, run in enumerate(runs, 1) if not any(seq.labels[i] in stops for i in run)]
        if missing and seq.truncated and missing[-1][0] == len(runs):
            n, run = missing.pop()
            message = (
                f"cutoff_len={rendered.options.cutoff_len} cuts {_turns([n], len(runs), where)} off before its end "
                f"token {names}: this sample teaches the model to keep going. Raise cutoff_len or shorten the sample."
            )
            traps.append(Trap("eos_truncated", "warning", message, seq.name, (run[-1],)))
        if not missing:
            continue
        if eos is not None and eos == pad and rendered.stage == "pt" and eos in seq.input_ids:
            why = "the pre-training collator masks pad ids in labels and pad == eos, so the EOS is masked too"
        else:
            why = f"template {template.name} does not put {names} in the trained part of the response"
        ends = ", ".join(repr(seq.tokens[run[-1]].text) for _, run in missing[:3])
        traps.append(
            Trap(
                "eos_not_trained",
                "error",
                f"the trained tokens of {_turns([n for n, _ in missing], len(runs), where)} end with {ends} and never "
                f"include the end token {names}: {why}. The model never learns to stop.",
                seq.name,
                tuple(run[-1] for _, run in missing),
            )
        )
    return traps


def check_pad_eos(rendered: RenderedSample, tokenizer: Any) -> list[Trap]:
    """pad == eos: collators that mask pad ids in labels mask the EOS too (pre-training does)."""
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    if eos is None or pad != eos:
        return []
    name = _token(tokenizer, eos)
    if rendered.stage == "pt":
        detail = (
            "the pre-training collator masks every pad id in the labels, so the EOS that ends each text is never "
            "trained and the model does not learn to end a document"
        )
        return [
            Trap("pad_is_eos", "warning", f"pad == eos ({name}, id {eos}): {detail}; give the tokenizer a pad token.")
        ]
    detail = (
        "the collators of this stage pad labels with -100 and keep the EOS, but any collator that masks pad ids in "
        "the labels (DataCollatorForLanguageModeling, used for pre-training, and many scripts) also masks the EOS"
    )
    return [Trap("pad_is_eos", "info", f"pad == eos ({name}, id {eos}): {detail}.")]


def check_boundary_merge(rendered: RenderedSample, tokenizer: Any) -> list[Trap]:
    """Prompt and response text tokenized together gives other ids than tokenized apart (as training does)."""
    if rendered.stage == "pt":
        return []
    found: list[tuple[int, str, str, str]] = []
    positions: list[int] = []
    encoder, offset = ElementEncoder(tokenizer), 0
    turns = turn_elements(rendered.template, rendered.example, rendered.stage, rendered.options)
    for n, (prompt, response) in enumerate(turns, 1):
        prompt_len = len(encoder.ids(prompt))
        offset += prompt_len
        boundary, offset = offset, offset + len(encoder.ids(response))
        prompt_text, response_text = elements_text(prompt, tokenizer), elements_text(response, tokenizer)
        if not prompt_text or not response_text:
            continue
        apart_p, apart_r, joined = encode_texts(tokenizer, [prompt_text, response_text, prompt_text + response_text])
        if apart_p + apart_r == joined:
            continue
        edge, merged = 0, ""
        for text in token_texts(tokenizer, joined):
            if edge < len(prompt_text) < edge + len(text):
                merged = text
                break
            edge += len(text)
        tail = token_texts(tokenizer, apart_p)[-1] if apart_p else ""
        head = token_texts(tokenizer, apart_r)[0] if apart_r else ""
        found.append((n, tail, head, merged))
        if prompt_len and boundary < len(rendered.main.input_ids) and not rendered.main.truncated:
            positions += [boundary - 1, boundary]
    if not found:
        return []
    n, tail, head, merged = found[0]
    into = f"merge into {merged!r}" if merged else "are split differently"
    others = [str(f[0]) for f in found[1:]]
    also = f" (also in turn{'s' if len(others) > 1 else ''} {', '.join(others)})" if others else ""
    where = f"turn {n}" if len(turns) > 1 else "the sample"
    return [
        Trap(
            "boundary_merge",
            "warning",
            f"in {where}{also} the prompt ends with {tail!r} and the response starts with {head!r}; tokenized as one "
            f"text they {into}. Training tokenizes them apart, so the model learns a split that whole-text "
            "tokenization (a server applying the chat template, other trainers) never produces; avoid trailing "
            "spaces at the end of the template's prompt.",
            rendered.main.name,
            tuple(positions),
        )
    ]


def check_chat_template(rendered: RenderedSample, tokenizer: Any, chat_template: str | None) -> list[Trap]:
    """The training text against the tokenizer's jinja chat template for the same messages."""
    if rendered.stage == "pt":
        return []
    template, example = rendered.template, rendered.example
    jinja = chat_template if chat_template is not None else getattr(tokenizer, "chat_template", None)
    if not isinstance(jinja, str):
        note = "the tokenizer has no jinja chat template, so the comparison with the training template is skipped."
        return [Trap("no_chat_template", "info", note)]
    try:
        own = to_jinja(template, tokenizer)
    except ValueError:
        own = None
    if jinja == own:
        note = f"the tokenizer's chat template was written from template {template.name}; they match by construction."
        return [Trap("chat_template_from_template", "info", note)]
    if example.tools or any(m.role in TOOL_ROLES for m in [*example.prompt, *example.response]):
        note = "each chat template writes tools in its own way: the comparison is skipped for samples with tools."
        return [Trap("chat_template_skipped", "info", note)]
    ours = template_text(template, tokenizer, example, rendered.stage, rendered.options)
    answer = [example.response[0]] if example.response else []
    messages = [{"role": "system", "content": example.system}] if example.system else []
    messages += [{"role": m.role, "content": m.content} for m in [*example.prompt, *answer]]
    extra = {"enable_thinking": template.enable_thinking} if template.is_reasoning else {}
    try:
        theirs = tokenizer.apply_chat_template(messages, chat_template=jinja, tokenize=False, **extra)
    except Exception as exc:  # a jinja template may raise anything (its own raise_exception, undefined names)
        note = f"the tokenizer's chat template cannot render this sample ({type(exc).__name__}: {exc})."
        return [Trap("chat_template_error", "info", note)]
    if ours == theirs:
        return []
    return [
        Trap(
            "template_mismatch",
            "warning",
            f"template {template.name} differs from the tokenizer's jinja chat template "
            f"{first_difference(ours, theirs)}. Inference servers and chat UIs use the jinja template, so the "
            "model would be served a format it was not trained on; choose the template that matches the model "
            "(template: hf uses the jinja one).",
        )
    ]


def _thought_pattern(template: Template) -> re.Pattern[str]:
    start, end = (w.strip() or d for w, d in zip(template.thought_words, ("<think>", "</think>"), strict=True))
    return re.compile(re.escape(start) + r"\s*" + re.escape(end))


def check_empty_think(rendered: RenderedSample) -> list[Trap]:
    """Empty thought blocks (``<think></think>`` with only whitespace inside) among the trained tokens."""
    pattern = _thought_pattern(rendered.template)
    advice = (
        "set enable_thinking: false to move the empty block into the (masked) prompt, or give the responses real "
        "thoughts"
        if rendered.template.is_reasoning
        else "give the responses real thoughts or remove the empty blocks from the data"
    )
    traps = []
    for seq in rendered.sequences:
        blocks: list[str] = []
        positions: list[int] = []
        for run in _runs(seq.labels):
            tokens = [seq.tokens[i] for i in run]
            text = "".join(t.text for t in tokens)
            for match in pattern.finditer(text):
                blocks.append(match.group(0))
                edge = 0
                for token in tokens:
                    if edge < match.end() and edge + len(token.text) > match.start():
                        positions.append(token.index)
                    edge += len(token.text)
        if blocks:
            what = (
                f"an empty thought block {blocks[0]!r}" if len(blocks) == 1 else f"{len(blocks)} empty thought blocks"
            )
            traps.append(
                Trap(
                    "empty_think_trained",
                    "warning",
                    f"{_where(rendered, seq)} trains on {what}: the model learns to answer without thinking; "
                    f"{advice}.",
                    seq.name,
                    tuple(positions),
                )
            )
    return traps


def _split(pieces: Sequence[str], ids: Sequence[int]) -> str:
    return f"{' | '.join(repr(p) for p in pieces)} (ids {' '.join(map(str, ids))})"


def _file_mismatch_why(found: FileMismatch) -> str:
    import transformers

    loaded = f"transformers {transformers.__version__} loads this tokenizer as {found.loaded_class}"
    if found.model_type:
        loaded += f" (model type {found.model_type})"
    if found.differs_in:
        parts = " and ".join(found.differs_in)
        return (
            f"{loaded}, which rebuilds it from the vocabulary and merges with its own {parts} instead of the "
            f"tokenizer.json's"
        )
    if found.extra_added:
        shown = ", ".join(repr(t) for t in found.extra_added[:5])
        return f"{loaded} and it has added tokens the file lacks ({shown}; from add_tokens or the template)"
    return f"{loaded}, which does not encode text as the tokenizer.json does (a Python tokenizer or its own rules)"


def check_tokenizer_file(tokenizer: Any) -> list[Trap]:
    """The loaded tokenizer against the model folder's tokenizer.json, on a few fixed texts (cached per file)."""
    found = compare_with_file(tokenizer)
    if found is None:
        return []
    of = f"{found.differing} of {found.total} test texts differ"
    return [
        Trap(
            "tokenizer_file_mismatch",
            "warning",
            f"the loaded tokenizer splits text differently from the model's tokenizer.json ({of}). "
            f"{found.sample!r} is {_split(found.loaded_pieces, found.loaded_ids)} as loaded, but "
            f"{_split(found.file_pieces, found.file_ids)} by {found.path}. Why: {_file_mismatch_why(found)}. "
            "Training here, and LLaMA-Factory with the same transformers version, use the loaded ids; if the model "
            "was trained with the file's (a custom or converted tokenizer), it is fine-tuned and served on splits "
            "it never saw. Check which tokenizer the model was trained with, or use a transformers version that "
            "loads tokenizer.json as it is.",
        )
    ]


def detect_traps(
    template: Template | str,
    tokenizer: Any,
    sample: Any,
    options: EncodeOptions | None = None,
    *,
    stage: str = "sft",
    chat_template: str | None = None,
) -> list[Trap]:
    """Every trap found in ``sample``, errors first.

    ``sample`` is a :class:`RenderedSample` (its template, stage and options are used) or anything
    :func:`render_sample` takes. ``chat_template`` is the model's own jinja template as loaded, before the template
    fixes replace it (``InspectSetup.model_chat_template``); by default the tokenizer's current one.
    """
    rendered = (
        sample if isinstance(sample, RenderedSample) else render_sample(template, tokenizer, sample, options, stage)
    )
    traps = [
        *check_double_bos(rendered, tokenizer),
        *check_eos(rendered, rendered.template, tokenizer),
        *check_pad_eos(rendered, tokenizer),
        *check_boundary_merge(rendered, tokenizer),
        *check_chat_template(rendered, tokenizer, chat_template),
        *check_empty_think(rendered),
        *check_tokenizer_file(tokenizer),
    ]
    return sorted(traps, key=lambda trap: SEVERITY_ORDER[trap.severity])
