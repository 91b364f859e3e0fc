"""Tokens per second of LLaMA-Factory 0.9.5's sft processor against ours, on the same tokenizer and examples.

Run with the interpreter that has ``llamafactory`` (ours is imported from this checkout; it needs no extra package)::

    /work/lf-venv/bin/python scripts/lf_bench.py --tokenizer PATH --template qwen3 --n 2000

Both encode the same examples (the golden samples, made unique per copy) in batches of ``--batch`` rows, as
``datasets.map(batched=True)`` would call them; the outputs are checked to be identical.
"""

import argparse
import json
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from lf_goldens import setup_llamafactory  # noqa: E402
from lf_goldens_runner import lf_row, to_batch  # noqa: E402

from lmf_engine.data.processors import EncodeOptions, make_preprocess_fn  # noqa: E402
from lmf_engine.data.templates import get_template_and_fix_tokenizer  # noqa: E402
from lmf_engine.data.templates.tools import base  # noqa: E402


def make_rows(samples: list[dict], n: int) -> list[dict]:
    """``n`` sft rows in LLaMA-Factory's form, each copy's texts made unique."""
    usable = [
        s
        for s in samples
        if s.get("response") and len(s["prompt"]) % 2 == 1 and s["name"] not in ("parallel_call", "thought_tool")
    ]
    rows = []
    for i in range(n):
        row = lf_row(usable[i % len(usable)], "sft")
        row["_prompt"] = [
            {**m, "content": f"{m['content']} #{i}"} if m["role"] == "user" else m for m in row["_prompt"]
        ]
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer", default=str(ROOT / "tests/fixtures/templates/tokenizer"))
    parser.add_argument("--template", default="qwen3")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--cutoff", type=int, default=2048)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    lf = setup_llamafactory("26 Jul 2024")
    base.today = lambda: "26 Jul 2024"  # the same llama3 tool prompt date on both sides
    from transformers import AutoTokenizer

    samples = json.loads((ROOT / "tests/fixtures/templates/samples.json").read_text())
    rows = make_rows(samples, args.n)
    batches = [to_batch(rows[i : i + args.batch]) for i in range(0, len(rows), args.batch)]

    lf_tok = AutoTokenizer.from_pretrained(args.tokenizer)
    data_args = lf["DataArguments"](template=args.template, cutoff_len=args.cutoff)
    lf_template = lf["tpl"].get_template_and_fix_tokenizer(lf_tok, data_args)
    processor = lf["proc"].SupervisedDatasetProcessor(
        template=lf_template, tokenizer=lf_tok, processor=None, data_args=data_args
    )
    start = time.perf_counter()
    lf_out = [processor.preprocess_dataset(batch) for batch in batches]
    lf_time = time.perf_counter() - start

    our_tok = AutoTokenizer.from_pretrained(args.tokenizer)
    template = get_template_and_fix_tokenizer(our_tok, args.template)
    fn = make_preprocess_fn("sft", template, our_tok, EncodeOptions(cutoff_len=args.cutoff))
    start = time.perf_counter()
    our_out = [fn(batch) for batch in batches]  # from the same column batches, row conversion included
    our_time = time.perf_counter() - start

    same = all(
        a["input_ids"] == b["input_ids"] and a["labels"] == b["labels"] for a, b in zip(lf_out, our_out, strict=True)
    )
    tokens = sum(len(ids) for out in our_out for ids in out["input_ids"])
    print(f"template={args.template} rows={args.n} tokens={tokens} identical={same}")
    print(f"LLaMA-Factory: {lf_time:.3f}s  {tokens / lf_time:,.0f} tokens/s")
    print(f"lmf:           {our_time:.3f}s  {tokens / our_time:,.0f} tokens/s  ({lf_time / our_time:.1f}x)")


if __name__ == "__main__":
    main()
