"""The chat: the transformers engine beside raw ``model.generate``, and the chat screen (6) beside the engine.

Usage: python benchmarks/chat.py [engine|paint|latency|rate|all] [--repeat N] [--model DIR] [--template qwen]
       [--threads 1] [--new-tokens 64]

Without ``--model`` the tiny test model (2-layer Qwen2, random weights) is built in a temporary folder.
``--threads`` sets torch's CPU threads in every process (OMP_NUM_THREADS; 0 leaves torch's default, one per core):
on a busy shared machine OpenMP threads that spin-wait for each other make figures swing by 10x, and with the
default a generating model takes every core from the UI thread.

- engine: time to first token and tokens/s of ``HuggingfaceEngine`` beside raw ``model.generate``: same model,
  prompt ids, greedy settings and stop ids, in one process, alternating three sides: raw (``model.generate`` with a
  streamer that only notes when the first new token arrives); engine stream (``stream_chat`` from the call, prompt
  encoding included, to the first text chunk in the async consumer and to the end); engine chat (``chat``, whole
  answer). ``--repeat`` rounds (default 7) after a warm-up round, each starting with another side; medians, and
  ratios to raw as the median of each round's own ratio (``--repeat 30`` gives steadier figures on a shared
  machine). ``--new-tokens`` new tokens. Targets: engine TTFT within 10% of raw, tokens/s at least 0.95x raw.

The other three run ``lmf-tui`` headless at 120x40 in fresh processes (``--repeat`` of them; default 3, 2, 2) on a
workspace whose ``configs/chat.yaml`` the chat screen opens on: the model, ``template``, 512 new tokens, sampling
with a fixed seed (temperature 0.7, top-k 40): every answer is the same 512 tokens (the random tiny model's greedy
answer is nothing but newlines, and unseeded sampling soon writes a stop token). The engine is loaded by the
screen's own ``open_engines`` (in ``rate``: built once and handed to it). Each conversation starts anew before a
message (``ctrl+n``), so every prompt is the same. A headless app computes every frame but skips turning it into
terminal output: the probes do that too (``render_segments``), so that painting costs what it costs in a terminal.

- paint: answers in the chat screen, timing (a) the generating thread handing its first text over (``Handoff``),
  (b) the engine's stream yielding its first chunk (``ChatStream``), (c) the first frame in which a line of the
  answer's streamed text holds text. 10 answers per process after a warm-up. Target: (c) - (b) within 30 ms.
- latency: ``ctrl+k`` (fold the reasoning: no reasoning here, so a cheap action) every 100 ms: the time from the
  key event's creation to its action running, 50 keys with nothing streaming, then 200 while answers stream one
  after another (keys sent between two answers are counted apart). Latencies of all processes pooled.
  Target: p99 < 50 ms while streaming.
- rate: the tokens/s the screen shows under an answer (``Figures``: completion tokens / seconds from the request to
  the end of the stream) beside the same engine, prompt and settings iterated by a bare asyncio loop, timed the
  same way. Per process: blocks of 5 bare answers and 5 answers in the app (a fresh app each block, its first
  answer a warm-up), alternating, starting and ending with bare ones; each app block's ratio is its median over the
  mean of the bare medians on either side. Target: shown/engine at least 0.95x (median of the blocks' ratios).
"""

import argparse
import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROMPT = [{"role": "user", "content": "Explain, step by step, how to convert kilometres to metres."}]
UI_PROMPT = "Tell me a long story."
UI_SETTINGS = {"max_new_tokens": 512, "do_sample": True, "temperature": 0.7, "top_k": 40, "top_p": 1.0, "seed": 3}
"""The chat config's generation settings: with the tiny model, 512 tokens of printable text, no stop token."""
DEFAULT_REPEAT = {"engine": 7, "paint": 3, "latency": 2, "rate": 2}
PAINT_TARGET_MS = 30.0
LATENCY_TARGET_MS = 50.0
RATE_TARGET = 0.95


# --- engine: HuggingfaceEngine beside raw generate -------------------------------------------------------------


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


def engine_vs_raw(args: argparse.Namespace, model: Path) -> None:
    import torch

    from lmf_engine.chat.hf_engine import HuggingfaceEngine
    from lmf_engine.config import load_config

    repeat = args.repeat or DEFAULT_REPEAT["engine"]
    if args.threads:
        torch.set_num_threads(args.threads)
    config = load_config(values={"model_name_or_path": str(model), "template": args.template})
    engine = HuggingfaceEngine(config)
    prompt_ids = engine.request(PROMPT).prompt_ids
    assert prompt_ids is not None
    results: dict[str, list[tuple[float, float, int]]] = {"raw generate": [], "engine stream": [], "engine chat": []}

    async def raw() -> tuple[float, float, int]:
        return raw_run(engine, prompt_ids, args.new_tokens)

    sides = {
        "raw generate": raw,
        "engine stream": lambda: engine_stream_run(engine, args.new_tokens),
        "engine chat": lambda: engine_chat_run(engine, args.new_tokens),
    }
    names = list(sides)

    async def run_all() -> None:
        for i in range(repeat + 1):
            for name in names[i % 3 :] + names[: i % 3]:
                run = await sides[name]()
                if i:  # the first round warms up
                    results[name].append(run)
        await engine.aclose()

    asyncio.run(run_all())
    engine_report(results, model, len(prompt_ids), repeat)


def engine_report(
    results: dict[str, list[tuple[float, float, int]]], model: Path, prompt_len: int, repeat: int
) -> None:
    """Medians and best runs, with ratios to raw generate: per round for the medians, best to best for the best."""
    import torch

    print(
        f"\nengine: model {model.name}, prompt {prompt_len} tokens, greedy, {repeat} rounds after a warm-up "
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


# --- the chat screen: probes run in fresh processes ---------------------------------------------------------------

PROBE = r'''
import asyncio, json, statistics, sys, time
from pathlib import Path

from textual import events
from textual._compositor import CompositorUpdate
from textual.app import App
from textual.screen import Screen
from lmf_tui.widgets.stream_text import StreamText

from lmf_engine.chat.engine import ChatStream
from lmf_tui import chat_open
from lmf_tui.app import WorkbenchApp
from lmf_tui.screens.chat import ChatScreen
from lmf_tui.settings import Settings
from lmf_tui.widgets.chat_turn import AnswerTurn
from lmf_tui.widgets.message_input import MessageInput
from lmf_tui.workspace import Workspace

MODE, ROOT, OPTIONS = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
clock = time.perf_counter
marks = {}
frames = {"count": 0, "cpu": 0.0}
answer_done = []

try:  # (a) the generating thread hands the first text of an answer over
    from lmf_engine.chat.handoff import Handoff
except ImportError:
    Handoff = None
if Handoff is not None:
    original_post = Handoff.post

    def post(self, item):
        if "posted" not in marks and isinstance(item, str):
            marks["posted"] = clock()
        return original_post(self, item)

    Handoff.post = post

original_anext = ChatStream.__anext__


async def anext_(self):  # (b) the engine's stream yields its first chunk
    chunk = await original_anext(self)
    if "chunk" not in marks:
        marks["chunk"], marks["text"] = clock(), chunk
    return chunk


ChatStream.__anext__ = anext_
original_lines = StreamText.render_lines


def render_lines(self, crop):  # a line of the answer's streamed text is rendered for a frame
    strips = original_lines(self, crop)
    if "chunk" in marks and "rendered" not in marks and any(strip.text.strip() for strip in strips):
        if any(isinstance(node, AnswerTurn) for node in self.ancestors):
            marks["rendered"] = clock()
    return strips


StreamText.render_lines = render_lines
original_display = App._display


def display(self, screen, renderable):  # (c) that frame goes out, as terminal output
    if isinstance(renderable, CompositorUpdate):
        renderable.render_segments(self.console)  # what a terminal would be sent (a headless app skips it)
    original_display(self, screen, renderable)
    if renderable is not None:
        frames["count"] += 1
    if "rendered" in marks and "painted" not in marks:
        marks["painted"] = clock()


App._display = display
original_update = Screen._on_timer_update


def on_timer_update(self):  # the UI thread's time in screen updates: layout, render, output
    started = time.thread_time()
    original_update(self)
    frames["cpu"] += time.thread_time() - started


Screen._on_timer_update = on_timer_update
original_finish = AnswerTurn.finish


async def finish(self, text, reasoning, calls, figures):  # the answer's figures, as shown
    await original_finish(self, text, reasoning, calls, figures)
    marks["figures"] = [figures.tokens, figures.seconds, figures.first_token, figures.finish]
    marks["shown"] = str(self.query_one("#figures").render())
    marks["cpu_loop"] = time.thread_time() - marks["cpu_loop_start"]
    marks["frames"] = frames["count"] - marks["frames_start"]
    marks["cpu_updates"] = frames["cpu"] - marks["cpu_updates_start"]
    for event in answer_done:
        event.set()


AnswerTurn.finish = finish


def new_app():
    return WorkbenchApp(Workspace(ROOT), Settings(path=None))


async def open_chat(app, pilot):
    await pilot.press("6")
    while not isinstance(app.screen, ChatScreen) or app.screen.sides[0].engine is None:
        await asyncio.sleep(0.02)
    return app.screen


async def ask(app, screen):
    """Send the prompt in a new conversation (the same prompt every time); the answer's marks once it is shown."""
    await screen.action_new()
    done = asyncio.Event()
    answer_done[:] = [done]
    marks.clear()
    marks.update(cpu_loop_start=time.thread_time(), frames_start=frames["count"], cpu_updates_start=frames["cpu"])
    screen.query_one(MessageInput).text = OPTIONS["prompt"]
    marks["sent"] = clock()
    app.post_message(events.Key("enter", "\r"))
    await asyncio.wait_for(done.wait(), 120)
    return dict(marks)


async def bare(engine):
    """The same request with no UI: the stream iterated by a bare loop, timed as the screen times it."""
    cpu = time.thread_time()
    stream = engine.stream_chat([{"role": "user", "content": OPTIONS["prompt"]}])
    started = clock()
    async for _ in stream:
        pass
    seconds = clock() - started
    response = stream.response
    return {"figures": [response.completion_tokens, seconds, None, response.finish_reason],
            "cpu_loop": time.thread_time() - cpu}


async def paint():
    app = new_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_chat(app, pilot)
        await ask(app, screen)  # warm-up
        answers = []
        for _ in range(OPTIONS["answers"]):
            await asyncio.sleep(0.3)
            answers.append(await ask(app, screen))
    return {"answers": answers}


async def latency():
    latencies = {"idle": [], "streaming": [], "between answers": []}
    sent = {}
    original_thinking = ChatScreen.action_thinking

    def thinking(self):
        if "at" in sent:
            latencies[sent.pop("phase")].append(clock() - sent.pop("at"))
        original_thinking(self)

    ChatScreen.action_thinking = thinking

    async def keys(app, screen, phase, count):
        for _ in range(count):
            sent["phase"] = phase if phase == "idle" or screen.generating else "between answers"
            sent["at"] = clock()
            app.post_message(events.Key("ctrl+k", None))
            await asyncio.sleep(0.1)
            while "at" in sent:
                await asyncio.sleep(0.005)

    app = new_app()
    answers = []
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_chat(app, pilot)
        await ask(app, screen)  # warm-up
        await asyncio.sleep(0.5)
        await keys(app, screen, "idle", OPTIONS["idle_keys"])
        stop = asyncio.Event()

        async def stream():
            while not stop.is_set():
                answers.append(await ask(app, screen))

        task = asyncio.create_task(stream())
        while not screen.generating:
            await asyncio.sleep(0.005)
        await keys(app, screen, "streaming", OPTIONS["stream_keys"])
        stop.set()
        await task
    return {"latencies": latencies, "answers": answers}


async def rate():
    from lmf_engine.chat.target import ChatTarget, open_target

    engine = open_target(ChatTarget("config", "configs/chat.yaml"), ROOT)
    close = engine.aclose

    async def keep():  # the screen closes its engines when its app ends: this one serves every block
        return None

    engine.aclose = keep
    chat_open.open_engines = lambda targets, root, current, release: [engine]
    per_block = OPTIONS["per_block"]
    blocks = []
    await bare(engine)  # warm-up
    for i in range(2 * OPTIONS["blocks"] + 1):
        if i % 2 == 0:
            blocks.append({"side": "bare", "answers": [await bare(engine) for _ in range(per_block)]})
            continue
        app = new_app()
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_chat(app, pilot)
            await ask(app, screen)  # warm-up
            blocks.append({"side": "ui", "answers": [await ask(app, screen) for _ in range(per_block)]})
    await close()
    return {"blocks": blocks}


result = asyncio.run({"paint": paint, "latency": latency, "rate": rate}[MODE]())
print(json.dumps(result))
'''


def make_workspace(base: Path, model: Path, template: str) -> Path:
    """A workspace whose only config, ``configs/chat.yaml``, is what the chat screen opens on."""
    root = base / "ws"
    (root / "configs").mkdir(parents=True, exist_ok=True)
    values = {"model_name_or_path": str(model), "template": template, **UI_SETTINGS}
    (root / "configs" / "chat.yaml").write_text(
        "".join(f"{key}: {json.dumps(value)}\n" for key, value in values.items())
    )
    return root


def probe(mode: str, root: Path, threads: int, **options: Any) -> dict[str, Any]:
    """Run the probe in a fresh process; its JSON result."""
    env = dict(os.environ, XDG_STATE_HOME=str(root.parent / "state"))
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    options["prompt"] = UI_PROMPT
    command = [sys.executable, "-c", PROBE, mode, str(root), json.dumps(options)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"the {mode} probe failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def describe(answer: dict[str, Any]) -> str:
    tokens, _, _, finish = answer["figures"]
    return f"{tokens} tokens, finish {finish}"


def paint(args: argparse.Namespace, root: Path) -> None:
    repeat = args.repeat or DEFAULT_REPEAT["paint"]
    answers = [a for _ in range(repeat) for a in probe("paint", root, args.threads, answers=10)["answers"]]
    ms = 1000.0
    handed = [a for a in answers if "posted" in a]  # the engine hands text over through a Handoff
    rows = [
        ("Enter -> engine's first chunk (screen's 'first token')", [a["chunk"] - a["sent"] for a in answers]),
        ("worker hands text over -> stream's first chunk", [a["chunk"] - a["posted"] for a in handed]),
        ("stream's first chunk -> its text painted", [a["painted"] - a["chunk"] for a in answers]),
        ("  of which: chunk -> answer line rendered", [a["rendered"] - a["chunk"] for a in answers]),
        ("  of which: rendered -> frame out", [a["painted"] - a["rendered"] for a in answers]),
        ("worker hands text over -> painted", [a["painted"] - a["posted"] for a in handed]),
    ]
    print(
        f"\npaint: first token painted ({len(answers)} answers, {repeat} processes; {describe(answers[0])}, "
        f"first chunk {answers[0]['text']!r})"
    )
    print(f"{'':56} {'median':>9} {'p90':>9} {'max':>9}  target")
    for label, values in rows:
        if not values:
            continue
        target = ""
        if label.startswith("stream's"):
            ok = statistics.median(values) * ms <= PAINT_TARGET_MS
            target = f"median <= {PAINT_TARGET_MS:.0f} ms: {verdict(ok)}"
        print(
            f"{label:56} {statistics.median(values) * ms:7.1f}ms {percentile(values, 0.9) * ms:7.1f}ms "
            f"{max(values) * ms:7.1f}ms  {target}"
        )


def key_latency(args: argparse.Namespace, root: Path) -> None:
    repeat = args.repeat or DEFAULT_REPEAT["latency"]
    runs = [probe("latency", root, args.threads, idle_keys=50, stream_keys=200) for _ in range(repeat)]
    pooled: dict[str, list[float]] = {}
    for run in runs:
        for phase, values in run["latencies"].items():
            pooled.setdefault(phase, []).extend(values)
    answers = [a for run in runs for a in run["answers"]]
    print(
        f"\nlatency: ctrl+k every 100 ms, key event created -> action runs ({repeat} processes pooled; "
        f"{len(answers)} answers streamed, {describe(answers[0])})"
    )
    print(f"{'':40} {'keys':>5} {'p50':>8} {'p99':>8} {'max':>8}  target")
    labels = {"idle": "nothing streaming (reference)", "streaming": "while an answer streams"}
    labels["between answers"] = "between answers (end, new chat, Enter)"
    for phase, label in labels.items():
        values = pooled.get(phase, [])
        if not values:
            continue
        p99 = percentile(values, 0.99) * 1000
        target = (
            f"p99 < {LATENCY_TARGET_MS:.0f} ms: " + verdict(p99 < LATENCY_TARGET_MS) if phase == "streaming" else ""
        )
        print(
            f"{label:40} {len(values):5d} {statistics.median(values) * 1000:6.1f}ms {p99:6.1f}ms "
            f"{max(values) * 1000:6.1f}ms  {target}"
        )


def answer_rate(answer: dict[str, Any]) -> float:
    tokens, seconds, _, _ = answer["figures"]
    return tokens / seconds


def rate(args: argparse.Namespace, root: Path) -> None:
    repeat = args.repeat or DEFAULT_REPEAT["rate"]
    runs = [probe("rate", root, args.threads, blocks=3, per_block=5) for _ in range(repeat)]
    ratios: list[float] = []
    sides: dict[str, list[dict[str, Any]]] = {"bare": [], "ui": []}
    for run in runs:
        blocks = run["blocks"]
        medians = [statistics.median(answer_rate(a) for a in block["answers"]) for block in blocks]
        for i, block in enumerate(blocks):
            sides[block["side"]].extend(block["answers"])
            if block["side"] == "ui":
                ratios.append(medians[i] / ((medians[i - 1] + medians[i + 1]) / 2))
    tokens = {side: sorted({a["figures"][0] for a in answers}) for side, answers in sides.items()}
    finish = {side: sorted({a["figures"][3] for a in answers}) for side, answers in sides.items()}
    shown = [a["shown"] for a in sides["ui"]]
    assert all("tokens/s" in text for text in shown), shown[0]
    print(
        f"\nrate: tokens/s, request to end of stream ({repeat} processes x 3 blocks x 5 answers a side; "
        f"e.g. the screen showed {shown[0]!r})"
    )
    print(f"{'':44} {'median':>9} {'min':>8} {'max':>8} {'tokens':>7} {'finish':>7} {'UI thread':>10}")
    labels = {"bare": "engine alone, no UI (bare asyncio loop)", "ui": "shown under the answer on the chat screen"}
    for side, label in labels.items():
        rates = [answer_rate(a) for a in sides[side]]
        cpu = statistics.median(a["cpu_loop"] / a["figures"][1] for a in sides[side])
        print(
            f"{label:44} {statistics.median(rates):7.1f}/s {min(rates):6.1f}/s {max(rates):6.1f}/s "
            f"{','.join(map(str, tokens[side])):>7} {','.join(finish[side]):>7} {cpu:6.0%} CPU"
        )
    ratio = statistics.median(ratios)
    print(
        f"{'shown / engine (median of the blocks ratios)':44} {ratio:8.3f}x {min(ratios):7.3f}x {max(ratios):7.3f}x"
        f"  target >= {RATE_TARGET}x: {verdict(ratio >= RATE_TARGET)}"
    )
    frames = statistics.median(a["frames"] for a in sides["ui"])
    updates = statistics.median(a["cpu_updates"] / a["figures"][1] for a in sides["ui"])
    print(
        f"(UI thread: its CPU time over the answer's time; on the screen {updates:.0%} of the answer's time goes to "
        f"screen updates (layout, render, output): {frames:.0f} frames per answer)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", default="all", choices=("engine", "paint", "latency", "rate", "all"))
    parser.add_argument("--model", type=Path, help="model folder (default: build the tiny test model)")
    parser.add_argument("--template", default="qwen")
    parser.add_argument("--new-tokens", type=int, default=64, help="engine: new tokens per answer")
    parser.add_argument("--repeat", type=int, help="engine: rounds (7); others: fresh processes (3, 2, 2)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (OMP_NUM_THREADS; 0: default)")
    args = parser.parse_args()
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            from lmf_engine.model.tiny import build_tiny_model

            model = build_tiny_model(Path(tmp) / "tiny-qwen2")
        root = make_workspace(Path(tmp), model.resolve(), args.template)
        threads = args.threads or "default"
        print(f"model {model.name}, torch threads: {threads}, chat settings {UI_SETTINGS}, prompt {UI_PROMPT!r}")
        for name, measure in (("paint", paint), ("latency", key_latency), ("rate", rate)):
            if args.what in (name, "all"):
                measure(args, root)
        if args.what in ("engine", "all"):
            engine_vs_raw(args, model)
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
