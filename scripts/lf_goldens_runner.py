"""The LLaMA-Factory side of scripts/lf_goldens.py: option matrices, row conversion and the case runner."""

import copy
import hashlib
import json
from typing import Any

SFT_OPTIONS: list[dict[str, Any]] = [
    {},
    {"train_on_prompt": True},
    {"mask_history": True},
    {"cutoff_len": 24},
    {"cutoff_len": 24, "mask_history": True},
    {"cutoff_len": 6},
    {"default_system": "Be brief."},
]
REASONING_SFT_OPTIONS: list[dict[str, Any]] = [
    {"enable_thinking": False},
    {"enable_thinking": False, "mask_history": True},
    {"enable_thinking": None},
    {"preserve_thinking": True, "mask_history": True},
]
PAIR_OPTIONS: list[dict[str, Any]] = [{}, {"cutoff_len": 24}]
REASONING_PAIR_OPTIONS: list[dict[str, Any]] = [{"enable_thinking": False}, {"preserve_thinking": True}]
PACK_OPTIONS: list[dict[str, Any]] = [{"packing": True, "cutoff_len": 200}, {"neat_packing": True, "cutoff_len": 160}]
PT_OPTIONS: list[dict[str, Any]] = [
    {"cutoff_len": 16},
    {"cutoff_len": 16, "packing": False},
    {"cutoff_len": 16, "packing": True},
    {"cutoff_len": 16, "packing": False, "add_bos_token": True},
    {"cutoff_len": 16, "add_bos_token": True},
]
REDUCED = {  # --profile reduced: for a large real tokenizer
    "sft": [{}, {"mask_history": True}, {"cutoff_len": 24}],
    "reasoning_sft": [{"enable_thinking": False}],
    "pair": [{}],
    "reasoning_pair": [],
    "pack": [{"packing": True, "cutoff_len": 512}],
    "pt": [{"cutoff_len": 64}],
}
FULL = {
    "sft": SFT_OPTIONS,
    "reasoning_sft": REASONING_SFT_OPTIONS,
    "pair": PAIR_OPTIONS,
    "reasoning_pair": REASONING_PAIR_OPTIONS,
    "pack": PACK_OPTIONS,
    "pt": PT_OPTIONS,
}
TOOL_TEMPLATES = ("default", "qwen3")
BATCH_EXCLUDE = ("parallel_call", "thought_tool")  # bad JSON for some templates: one error would void the batch
TOOL_ROWS = ("tool_call", "parallel_call", "thought_tool")


def lf_row(sample: dict[str, Any], stage: str) -> dict[str, Any]:
    """A sample as LLaMA-Factory's converter writes it for ``stage``."""
    response = list(sample.get("response", []))
    if stage == "rm" and len(response) == 1 and "rejected" in sample:
        response = [response[0], sample["rejected"]]
    elif stage == "kto" and len(response) == 1 and sample.get("kto_tag") is not None:
        empty = {"role": "assistant", "content": ""}
        response = [response[0], empty] if sample["kto_tag"] else [empty, response[0]]
    elif stage == "pt":
        text = "\n".join(m["content"] for m in [*sample["prompt"], *response])
        return {"_prompt": [{"role": "user", "content": text}], "_response": [], "_system": "", "_tools": ""}
    return {
        "_prompt": sample["prompt"],
        "_response": response,
        "_system": sample.get("system", ""),
        "_tools": sample.get("tools", ""),
    }


def to_batch(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Rows as a ``datasets`` column batch (no media)."""
    keys = ["_prompt", "_response", "_system", "_tools"]
    batch: dict[str, list[Any]] = {key: [row[key] for row in rows] for key in keys}
    for key in ("_images", "_videos", "_audios"):
        batch[key] = [None] * len(rows)
    return batch


def compact(out: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Plain lists, without media columns; all-ones attention masks become the string "ones"."""
    result: dict[str, Any] = {}
    for key, values in out.items():
        if key in ("images", "videos", "audios"):
            continue
        values = [list(v) if isinstance(v, (list, tuple)) else v for v in values]
        if key.endswith("attention_mask"):
            ids = out[key.replace("attention_mask", "input_ids")]
            if all(list(m) == [1] * len(i) for m, i in zip(values, ids, strict=True)):
                values = "ones"
        result[key] = values
    return result


def digest(value: Any) -> str:
    """SHA-1 of the canonical JSON of a result."""
    return hashlib.sha1(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class Runner:
    """Runs LLaMA-Factory on the samples for one tokenizer."""

    def __init__(
        self, lf: dict[str, Any], tokenizer_dir: str, samples: list[dict[str, Any]], profile: dict[str, Any]
    ) -> None:
        from transformers import AutoTokenizer

        self.lf = lf
        self.profile = profile
        self.tokenizer_dir = tokenizer_dir
        self.samples = samples
        self.auto = AutoTokenizer
        self.pristine = copy.deepcopy(lf["tpl"].TEMPLATES)

    def tokenizer(self, add_bos_token: bool | None = None, chat_template: str | None = None) -> Any:
        tok = self.auto.from_pretrained(self.tokenizer_dir)
        if add_bos_token is not None:
            tok.add_bos_token = add_bos_token
        if chat_template is not None:
            tok.chat_template = chat_template
        return tok

    def template(self, tok: Any, name: str | None, opts: dict[str, Any], stage: str) -> tuple[Any, Any]:
        """LLaMA-Factory's template for ``opts`` (fresh from the registry) and the data arguments."""
        tpl = self.lf["tpl"]
        if name is not None:
            tpl.TEMPLATES[name] = copy.deepcopy(self.pristine[name])
        keys = {k: v for k, v in opts.items() if k not in ("add_bos_token",)}
        data_args = self.lf["DataArguments"](template=name, **keys)
        if data_args.packing is None:
            data_args.packing = stage == "pt"
        template = tpl.get_template_and_fix_tokenizer(tok, data_args)
        template.mm_plugin = self.lf["mm"](name="base")
        return template, data_args

    def process(self, tok: Any, name: str | None, stage: str, opts: dict[str, Any], rows: list[dict]) -> Any:
        proc = self.lf["proc"]
        classes = {
            "sft": proc.SupervisedDatasetProcessor,
            "pack": proc.PackedSupervisedDatasetProcessor,
            "rm": proc.PairwiseDatasetProcessor,
            "kto": proc.FeedbackDatasetProcessor,
            "ppo": proc.UnsupervisedDatasetProcessor,
            "pt": proc.PretrainDatasetProcessor,
        }
        try:
            template, data_args = self.template(tok, name, opts, stage)
            processor = classes[stage](template=template, tokenizer=tok, processor=None, data_args=data_args)
            return compact(processor.preprocess_dataset(to_batch(rows)))
        except Exception as err:  # recorded: ours must fail the same way
            return {"error": type(err).__name__, "message": str(err)[:300]}

    def per_row(self, tok: Any, name: str | None, stage: str, opts: dict[str, Any], names: list[str]) -> dict:
        out = {}
        for sample in self.samples:
            if sample["name"] not in names:
                continue
            out[sample["name"]] = self.process(tok, name, stage, opts, [lf_row(sample, stage)])
        return out

    def tokenizer_state(self, tok: Any, template: Any) -> dict[str, Any]:
        return {
            "bos_token_id": tok.bos_token_id,
            "eos_token": tok.eos_token,
            "eos_token_id": tok.eos_token_id,
            "pad_token": tok.pad_token,
            "pad_token_id": tok.pad_token_id,
            "vocab_size": len(tok),
            "stop_token_ids": sorted(template.get_stop_token_ids(tok), key=lambda i: (i is None, i)),
            "chat_template": tok.chat_template,
        }

    def template_cases(self, name: str | None, tok_factory: Any) -> dict[str, Any]:
        tok = tok_factory()
        template, _ = self.template(tok, name, {}, "sft")
        reasoning = isinstance(template, self.lf["tpl"].ReasoningTemplate)
        cases: list[dict[str, Any]] = []
        all_rows = [s["name"] for s in self.samples]
        prof = self.profile
        sft_options = prof["sft"] + (prof["reasoning_sft"] if reasoning else [])
        pair_options = prof["pair"] + (prof["reasoning_pair"] if reasoning else [])
        for opts in sft_options:
            cases.append({"stage": "sft", "opts": opts, "rows": self.per_row(tok, name, "sft", opts, all_rows)})
        for opts in pair_options:
            cases.append({"stage": "rm", "opts": opts, "rows": self.per_row(tok, name, "rm", opts, all_rows)})
        for opts in prof["pair"]:
            cases.append({"stage": "ppo", "opts": opts, "rows": self.per_row(tok, name, "ppo", opts, all_rows)})
        batch_samples = [s for s in self.samples if s["name"] not in BATCH_EXCLUDE]
        kto_samples = [s for s in batch_samples if s.get("response")]  # an empty response breaks the KL shift
        for opts in pair_options:
            rows = [lf_row(s, "kto") for s in kto_samples]
            batch = [s["name"] for s in kto_samples]
            cases.append(
                {"stage": "kto", "opts": opts, "batch": batch, "out": self.process(tok, name, "kto", opts, rows)}
            )
        for opts in prof["pack"]:
            rows = [lf_row(s, "sft") for s in batch_samples]
            out = self.process(tok, name, "pack", opts, rows)
            cases.append({"stage": "pack", "opts": opts, "batch": [s["name"] for s in batch_samples], "out": out})
        for opts in prof["pt"]:  # a fresh tokenizer only when it must differ (the fixes are idempotent)
            pt_tok = tok if "add_bos_token" not in opts else tok_factory(add_bos_token=opts["add_bos_token"])
            out = self.process(pt_tok, name, "pt", opts, [lf_row(s, "pt") for s in self.samples])
            cases.append({"stage": "pt", "opts": opts, "batch": all_rows, "out": out})
        if name in TOOL_TEMPLATES and prof is FULL:
            for fmt in self.lf["tools"].TOOLS:
                opts = {"tool_format": fmt}
                cases.append({"stage": "sft", "opts": opts, "rows": self.per_row(tok, name, "sft", opts, TOOL_ROWS)})
        return {"tokenizer": self.tokenizer_state(tok, template), "structure": structure(template), "cases": cases}


def structure(template: Any) -> dict[str, Any]:
    """A template's slots and flags in the TOML form (sets that are neither bos nor eos render nothing)."""

    def slots(values: list[Any]) -> list[Any]:
        out: list[Any] = []
        for slot in values:
            if isinstance(slot, str):
                out.append(slot)
            elif isinstance(slot, dict):
                out.append({"token": slot["token"]})
            elif "bos_token" in slot:
                out.append({"special": "bos_token"})
            elif "eos_token" in slot:
                out.append({"special": "eos_token"})
        return out

    tools = template.format_tools
    names = ("user", "assistant", "system", "function", "observation", "prefix")
    return {
        **{f"format_{n}": slots(getattr(template, f"format_{n}").slots) for n in names},
        "tool_format": template.format_function.tool_format,
        "format_tools": tools.tool_format if type(tools).__name__ == "ToolFormatter" else slots(tools.slots),
        "default_system": template.default_system,
        "stop_words": list(template.stop_words),
        "thought_words": list(template.thought_words),
        "tool_call_words": list(template.tool_call_words),
        "efficient_eos": template.efficient_eos,
        "replace_eos": template.replace_eos,
        "replace_jinja_template": template.replace_jinja_template,
        "system_style": "merged" if type(template).__name__ == "Llama2Template" else "separate",
        "reasoning": {"Glm47ReasoningTemplate": "think_close_only", "ReasoningTemplate": "think"}.get(
            type(template).__name__, "none"
        ),
    }


def extraction_cases(lf: dict[str, Any], samples: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """For each tool format: texts (its own call texts and some that are not calls) and what it extracts."""
    tools = lf["tools"]
    calls = [
        tools.FunctionCall("get_weather", json.dumps({"city": "Paris", "days": [1, 2]})),
        tools.FunctionCall("search", json.dumps({"query": "2018 World Cup", "flag": True, "n": None})),
    ]
    out: dict[str, list[Any]] = {}
    for name, utils in tools.TOOLS.items():
        texts = ["Just an answer.", "", "Action: x\nAction Input: {bad json", '{"name": "f", "arguments": {}}']
        for subset in (calls[:1], calls):
            try:
                texts.append(utils.function_formatter(subset))
            except Exception:
                continue
        texts.append("<minimax:tool_call>\n" + texts[-1] + "\n</minimax:tool_call>")
        texts.append("Thinking first.\n" + texts[-2])
        results = []
        for text in texts:
            try:
                found = utils.tool_extractor(text)
                results.append([text, found if isinstance(found, str) else [list(c) for c in found]])
            except Exception as err:
                results.append([text, {"error": type(err).__name__}])
        tool_text = []
        for sample in samples:
            if sample.get("tools"):
                try:
                    tool_text.append(utils.tool_formatter(json.loads(sample["tools"])))
                except Exception as err:
                    tool_text.append({"error": type(err).__name__})
        out[name] = {"extract": results, "tools": tool_text}
    return out
