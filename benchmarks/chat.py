"""Time to first token and tokens/s of the transformers chat engine beside raw ``model.generate``.

Usage: python benchmarks/chat.py [--model DIR] [--template qwen] [--new-tokens 64] [--repeat 7] [--threads 1]

Same model, same prompt ids, same greedy settings and stop ids, in one process, alternating the three sides:

* raw: ``model.generate`` with a streamer that only notes when the first new token arrives (no decoding);
* engine stream: ``HuggingfaceEngine.stream_chat`` from the call (prompt encoding included) to the first text chunk
  in the async consumer, and to the end of the stream;
* engine chat: ``HuggingfaceEngine.chat`` (no streaming), whole answer.

Without ``--model`` the tiny test model is built in a temporary folder. ``--repeat`` rounds after one warm-up round;
each round runs every side once, starting with a different side each time. Medians of the runs, and ratios to raw
as the median of each round's own ratio (sides that ran back to back share the machine's load of the moment, which on
a shared machine varies more between rounds than between sides; there, more rounds, e.g. ``--repeat 30``, give
steadier figures). Targets: engine TTFT within 10% of raw, engine tokens/s at least 0.95x raw.

``--threads`` sets the CPU threads of torch for every thread (OMP_NUM_THREADS): on a busy shared machine OpenMP
threads that spin-wait for each other slow the main thread's raw generate by 10x or more, which would flatter the
engine (it generates in a worker thread); one thread each keeps the comparison fair.
"""

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

PROMPT = [{"role": "user", "content": "Explain, step by step, how to convert kilometres to metres."}]


class FirstTokenClock:
    """A streamer for raw generate that records the time of the first generated token."""

    def __init__(self) -> None:
        self.calls = 0
        self.first: float | None = None

    def put(self, value: Any) -> None:
        self.calls += 1
        if self.calls == 2 and self.first is None:
            self.first = time.perf_counter()

    def end(self) -> None:
        pass


def raw_run(engine: Any, prompt_ids: list[int], new_tokens: int) -> tuple[float, float, int]:
    """(ttft, total seconds, new tokens) of one raw generate call."""
    import torch

    clock = FirstTokenClock()
    start = time.perf_counter()
    inputs = torch.tensor([prompt_ids])
    with torch.inference_mode():
        out = engine.model.generate(
            inputs=inputs,
            attention_mask=torch.ones_like(inputs),
            do_sample=False,
            max_new_tokens=new_tokens,
            eos_token_id=engine.stop_ids,
            pad_token_id=engine.tokenizer.pad_token_id,
            streamer=clock,
        )
    total = time.perf_counter() - start
    assert clock.first is not None
    return clock.first - start, total, out.shape[1] - len(prompt_ids)


async def engine_stream_run(engine: Any, new_tokens: int) -> tuple[float, float, int]:
    start = time.perf_counter()
    first = None
    stream = engine.stream_chat(PROMPT, do_sample=False, max_new_tokens=new_tokens)
    async for _ in stream:
        if first is None:
            first = time.perf_counter()
    total = time.perf_counter() - start
    assert first is not None and stream.response is not None
    return first - start, total, stream.response.completion_tokens


async def engine_chat_run(engine: Any, new_tokens: int) -> tuple[float, float, int]:
    start = time.perf_counter()
    response = await engine.chat(PROMPT, do_sample=False, max_new_tokens=new_tokens)
    total = time.perf_counter() - start
    return float("nan"), total, response.completion_tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="model folder (default: build the tiny test model)")
    parser.add_argument("--template", default="qwen")
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (OMP_NUM_THREADS)")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)

    import torch

    from lmf_engine.chat.hf_engine import HuggingfaceEngine
    from lmf_engine.config import load_config
    from lmf_engine.model.tiny import build_tiny_model

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or build_tiny_model(Path(tmp) / "tiny-qwen2")
        config = load_config(values={"model_name_or_path": str(model), "template": args.template})
        engine = HuggingfaceEngine(config)
        prompt_ids = engine.request(PROMPT).prompt_ids
        results: dict[str, list[tuple[float, float, int]]] = {
            "raw generate": [],
            "engine stream": [],
            "engine chat": [],
        }

        async def raw() -> tuple[float, float, int]:
            return raw_run(engine, prompt_ids, args.new_tokens)

        sides = {
            "raw generate": raw,
            "engine stream": lambda: engine_stream_run(engine, args.new_tokens),
            "engine chat": lambda: engine_chat_run(engine, args.new_tokens),
        }
        names = list(sides)

        async def run_all() -> None:
            for i in range(args.repeat + 1):
                for name in names[i % 3 :] + names[: i % 3]:
                    run = await sides[name]()
                    if i:  # the first round warms up
                        results[name].append(run)

        asyncio.run(run_all())
    report(results, model, len(prompt_ids), args.repeat)


def report(results: dict[str, list[tuple[float, float, int]]], model: Path, prompt_len: int, repeat: int) -> None:
    """Medians and best runs, with ratios to raw generate: per round for the medians, best to best for the best."""
    import torch

    print(
        f"model {model.name}, prompt {prompt_len} tokens, greedy, {repeat} rounds after a warm-up "
        f"(CPU, {torch.get_num_threads()} thread(s)); median ratio = median of the rounds' ratios"
    )
    raw = results["raw generate"]
    print(
        f"{'':15} {'TTFT ms':>8} {'ratio':>6} {'best':>7} {'ratio':>6} "
        f"{'tok/s':>8} {'ratio':>6} {'best':>8} {'ratio':>6} {'tokens':>6}"
    )
    ratios: dict[str, tuple[float, float]] = {}
    for name, runs in results.items():
        rates = [tokens / total for _, total, tokens in runs]
        raw_rates = [tokens / total for _, total, tokens in raw]
        rate_ratio = statistics.median(a / b for a, b in zip(rates, raw_rates, strict=True))
        rate_text = (
            f"{statistics.median(rates):8.1f} {rate_ratio:6.3f} {max(rates):8.1f} {max(rates) / max(raw_rates):6.3f}"
        )
        if name == "engine chat":  # no first token to time
            ratios[name] = (float("nan"), rate_ratio)
            print(f"{name:15} {'-':>8} {'-':>6} {'-':>7} {'-':>6} {rate_text} {runs[0][2]:6d}")
            continue
        ttfts, raw_ttfts = [r[0] for r in runs], [r[0] for r in raw]
        ttft_ratio = statistics.median(a / b for a, b in zip(ttfts, raw_ttfts, strict=True))
        ratios[name] = (ttft_ratio, rate_ratio)
        print(
            f"{name:15} {statistics.median(ttfts) * 1000:8.2f} {ttft_ratio:6.3f} {min(ttfts) * 1000:7.2f} "
            f"{min(ttfts) / min(raw_ttfts):6.3f} {rate_text} {runs[0][2]:6d}"
        )
    ttft_ok = ratios["engine stream"][0] <= 1.10
    rate_ok = min(ratios["engine stream"][1], ratios["engine chat"][1]) >= 0.95
    print(
        f"targets (median ratios): TTFT within 10% of raw: {'met' if ttft_ok else 'MISSED'}; "
        f"tokens/s >= 0.95x raw: {'met' if rate_ok else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
