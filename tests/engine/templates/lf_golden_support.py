"""Replays the cases of a golden file (written by scripts/lf_goldens.py) through our templates and encoders."""

import functools
import gzip
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmf_engine.data.example import Example, Message
from lmf_engine.data.processors import (
    EncodeOptions,
    encode_feedback,
    encode_packed_supervised,
    encode_pairwise,
    encode_pretrain,
    encode_supervised,
    encode_unsupervised,
)
from lmf_engine.data.templates import Template, get_template_and_fix_tokenizer, stop_token_ids
from lmf_engine.data.templates.slots import Slots, SpecialRef, TokenRef

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "templates"
TOKENIZER_DIR = FIXTURES / "tokenizer"
TEMPLATE_OPTS = ("tool_format", "default_system", "enable_thinking", "preserve_thinking")
ENCODE_OPTS = ("cutoff_len", "train_on_prompt", "mask_history", "packing", "neat_packing")
TokenizerFactory = Callable[..., Any]


@functools.cache
def slots_to_toml(slots: Slots) -> list[Any]:
    """Template slots as the TOML of a template file (the inverse of ``parse_slots``)."""
    return [
        {"token": s.token} if isinstance(s, TokenRef) else {"special": s.name} if isinstance(s, SpecialRef) else s
        for s in slots
    ]


def load_goldens(path: Path) -> dict[str, Any]:
    """A golden file (gzip or plain JSON), read once per session."""
    raw = path.read_bytes()
    return json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)


def load_samples() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "samples.json").read_text())


def example_for(sample: dict[str, Any], stage: str) -> Example:
    """A sample as a canonical example for a stage (what our converters produce)."""
    if stage == "pt":
        text = "\n".join(m["content"] for m in [*sample["prompt"], *sample.get("response", [])])
        return Example(prompt=[Message("user", text)])
    response = [Message(m["role"], m["content"]) for m in sample.get("response", [])]
    if stage == "rm" and len(response) == 1 and "rejected" in sample:
        response.append(Message(sample["rejected"]["role"], sample["rejected"]["content"]))
    return Example(
        prompt=[Message(m["role"], m["content"]) for m in sample["prompt"]],
        response=response,
        system=sample.get("system", ""),
        tools=sample.get("tools", ""),
        kto_tag=sample.get("kto_tag") if stage == "kto" else None,
    )


def compact(out: dict[str, list[Any]]) -> dict[str, Any]:
    """Our columns in the golden form (all-ones attention masks as "ones"; no columns when nothing was kept)."""
    if not any(len(v) for v in out.values()):
        return {}
    result: dict[str, Any] = {}
    for key, values in out.items():
        values = [list(v) if isinstance(v, (list, tuple)) else v for v in values]
        if key.endswith("attention_mask"):
            ids = out[key.replace("attention_mask", "input_ids")]
            if all(m == [1] * len(i) for m, i in zip(values, ids, strict=True)):
                values = "ones"
        result[key] = values
    return result


def digest(value: Any) -> str:
    return hashlib.sha1(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def error_matches(err: BaseException, expected: dict[str, Any]) -> bool:
    return expected["error"] in {cls.__name__ for cls in type(err).__mro__}


@dataclass
class Mismatch:
    template: str
    stage: str
    opts: dict[str, Any]
    row: str
    expected: Any
    got: Any

    def __str__(self) -> str:
        return f"{self.template} {self.stage} {self.opts} {self.row}:\n  LF:   {self.expected}\n  ours: {self.got}"


class Replayer:
    """Runs every case of one golden template entry and collects mismatches."""

    def __init__(self, samples: list[dict[str, Any]], factory: TokenizerFactory, name: str | None) -> None:
        self.samples = {s["name"]: s for s in samples}
        self.factory = factory
        self.name = name
        self.label = name or "hf"
        self.compared = 0
        self.mismatches: list[Mismatch] = []

    def template(self, tok: Any, opts: dict[str, Any]) -> Template:
        kwargs = {k: opts[k] for k in TEMPLATE_OPTS if k in opts}
        return get_template_and_fix_tokenizer(
            tok, self.name, train_on_prompt=opts.get("train_on_prompt", False), **kwargs
        )

    def check(self, case: dict[str, Any], row: str, expected: Any, run: Callable[[], dict[str, Any]]) -> None:
        self.compared += 1
        try:
            got: Any = compact(run())
        except Exception as err:
            if isinstance(expected, dict) and "error" in expected and error_matches(err, expected):
                return
            got = {"error": type(err).__name__, "message": str(err)}
        got_cmp = digest(got) if isinstance(expected, str) else got  # a digest for a real tokenizer's goldens
        if got_cmp != expected:
            self.mismatches.append(Mismatch(self.label, case["stage"], case["opts"], row, expected, got))

    def run_case(self, tok: Any, case: dict[str, Any]) -> None:
        stage, opts = case["stage"], case["opts"]
        encode_opts = EncodeOptions(**{k: opts[k] for k in ENCODE_OPTS if k in opts})
        per_row = {"sft": encode_supervised, "rm": encode_pairwise, "ppo": encode_unsupervised}
        if "rows" in case:
            fn = per_row[stage]
            for row, expected in case["rows"].items():
                example = example_for(self.samples[row], stage)
                self.check(
                    case, row, expected, lambda fn=fn, ex=example: fn(self.template(tok, opts), tok, [ex], encode_opts)
                )
            return
        examples = [example_for(self.samples[row], stage) for row in case["batch"]]
        if stage == "pt":
            if "add_bos_token" in opts:  # else the tokenizer as fixed for the other cases (the fixes are idempotent)
                tok = self.factory(add_bos_token=opts["add_bos_token"])
            self.check(
                case,
                "batch",
                case["out"],
                lambda: encode_pretrain(self.template(tok, opts), tok, examples, encode_opts),
            )
            return
        fn = {"kto": encode_feedback, "pack": encode_packed_supervised}[stage]
        self.check(case, "batch", case["out"], lambda: fn(self.template(tok, opts), tok, examples, encode_opts))

    def run(self, entry: dict[str, Any]) -> None:
        tok = self.factory()
        template = self.template(tok, {})
        state = tokenizer_state(tok, template)
        self.compared += 1
        if state != entry["tokenizer"]:
            self.mismatches.append(Mismatch(self.label, "tokenizer", {}, "-", entry["tokenizer"], state))
        self.compared += 1
        if structure(template) != entry["structure"]:
            self.mismatches.append(Mismatch(self.label, "structure", {}, "-", entry["structure"], structure(template)))
        for case in entry["cases"]:
            self.run_case(tok, case)


def structure(template: Template) -> dict[str, Any]:
    """A template's slots and flags in the form the golden file records them."""
    names = ("user", "assistant", "system", "function", "observation", "prefix")
    return {
        **{f"format_{n}": slots_to_toml(getattr(template, f"format_{n}")) for n in names},
        "tool_format": template.tool_format,
        "format_tools": slots_to_toml(template.tools_slots) if template.tools_slots else template.tool_format,
        "default_system": template.default_system,
        "stop_words": list(template.stop_words),
        "thought_words": list(template.thought_words),
        "tool_call_words": list(template.tool_call_words),
        "efficient_eos": template.efficient_eos,
        "replace_eos": template.replace_eos,
        "replace_jinja_template": template.replace_jinja_template,
        "system_style": template.system_style,
        "reasoning": template.reasoning,
    }


def tokenizer_state(tok: Any, template: Template) -> dict[str, Any]:
    return {
        "bos_token_id": tok.bos_token_id,
        "eos_token": tok.eos_token,
        "eos_token_id": tok.eos_token_id,
        "pad_token": tok.pad_token,
        "pad_token_id": tok.pad_token_id,
        "vocab_size": len(tok),
        "stop_token_ids": stop_token_ids(template, tok),
        "chat_template": tok.chat_template,
    }


def tokenizer_factory(
    path: Path, add_bos_token: bool | None = None, chat_template: str | None = None
) -> TokenizerFactory:
    """A function making a fresh tokenizer (LLaMA-Factory's fixes change it) with optional overrides."""
    from transformers import AutoTokenizer

    def make(add_bos: bool | None = None) -> Any:
        tok = AutoTokenizer.from_pretrained(path)
        flag = add_bos_token if add_bos is None else add_bos
        if flag is not None:
            tok.add_bos_token = flag
        if chat_template is not None:
            tok.chat_template = chat_template
        return tok

    return lambda add_bos_token=None: make(add_bos_token)


def iter_entries(goldens: dict[str, Any]) -> Iterator[tuple[str, str | None, dict[str, Any], dict | None]]:
    """(label, template name or None, entry, hf spec) for every template entry in a golden file."""
    for name, entry in goldens["templates"].items():
        yield name, name, entry, None
    specs = json.loads((FIXTURES / "chat_templates.json").read_text())
    for key, entry in goldens.get("hf", {}).items():
        yield f"hf:{key}", None, entry, specs[key]
