"""A/B chat on the tiny model: one copy of a shared base, both answers from one batch, each equal to its own engine."""

import asyncio
import gc
import weakref
from pathlib import Path

import pytest
from chat_support import tiny_config
from fixtures.scripted_engine import ScriptedEngine

from lmf_engine.chat import ChatStream
from lmf_engine.chat.hf_engine import HuggingfaceEngine
from lmf_engine.chat.pair import SharedBaseEngine, open_pair, parameter_bytes, share_reason, stream_both

LONG = [
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "Paris."},
    {"role": "user", "content": "And of Japan?"},
]
SHORT = [{"role": "user", "content": "Hi"}]


@pytest.fixture(scope="module")
def lora_engine(tiny_model_dir: Path, lora_adapter_dir: Path) -> HuggingfaceEngine:
    """The tiny model with the LoRA adapter merged, as a target loads it alone."""
    return HuggingfaceEngine(tiny_config(tiny_model_dir, adapter_name_or_path=str(lora_adapter_dir)))


@pytest.fixture(scope="module")
def pair(tiny_model_dir: Path, lora_adapter_dir: Path) -> tuple[SharedBaseEngine, SharedBaseEngine]:
    """Base (A) and base + adapter (B) on one shared copy of the tiny model."""
    a, b = open_pair(
        tiny_config(tiny_model_dir), tiny_config(tiny_model_dir, adapter_name_or_path=str(lora_adapter_dir))
    )
    assert isinstance(a, SharedBaseEngine) and isinstance(b, SharedBaseEngine)
    return a, b


async def _read(stream: ChatStream) -> str:
    return "".join([chunk async for chunk in stream])


async def _read_both(a: ChatStream, b: ChatStream) -> list[tuple[str, str | None]]:
    """Read both streams at once: the arrivals in order, ``(side, chunk)``, and ``(side, None)`` at each end."""
    events: list[tuple[str, str | None]] = []

    async def read(side: str, stream: ChatStream) -> None:
        async for chunk in stream:
            events.append((side, chunk))
        events.append((side, None))

    await asyncio.gather(read("a", a), read("b", b))
    return events


def test_share_reason(tiny_model_dir: Path, lora_adapter_dir: Path, tmp_path: Path) -> None:
    base = tiny_config(tiny_model_dir)
    tuned = tiny_config(tiny_model_dir, adapter_name_or_path=str(lora_adapter_dir))
    assert share_reason(base, tuned) is None
    assert share_reason(tuned, tuned) is None
    assert "different base models" in (share_reason(base, tiny_config(tmp_path / "other")) or "")
    assert "vllm" in (share_reason(base, tiny_config(tiny_model_dir, infer_backend="vllm")) or "")
    assert "infer_dtype" in (share_reason(base, tiny_config(tiny_model_dir, infer_dtype="float16")) or "")
    stacked = tiny_config(tiny_model_dir, adapter_name_or_path=f"{lora_adapter_dir},{lora_adapter_dir}")
    assert "stacks 2 adapters" in (share_reason(base, stacked) or "")


def test_the_base_weights_are_loaded_once(
    pair: tuple[SharedBaseEngine, SharedBaseEngine], hf_engine: HuggingfaceEngine, lora_engine: HuggingfaceEngine
) -> None:
    a, b = pair
    one_base = parameter_bytes(hf_engine)
    assert a.model is b.model
    assert one_base < parameter_bytes(a, b) < 1.2 * one_base
    assert parameter_bytes(hf_engine, lora_engine) > 1.9 * one_base  # two engines loaded on their own


async def test_greedy_answers_equal_the_engines_loaded_alone(
    pair: tuple[SharedBaseEngine, SharedBaseEngine], hf_engine: HuggingfaceEngine, lora_engine: HuggingfaceEngine
) -> None:
    # unmerged and merged LoRA weights differ by float rounding only: on the tiny model greedy text is identical
    a, b = pair
    base = await hf_engine.chat(LONG, temperature=0, max_new_tokens=16)
    tuned = await lora_engine.chat(SHORT, temperature=0, max_new_tokens=16)
    assert tuned.raw_text != (await hf_engine.chat(SHORT, temperature=0, max_new_tokens=16)).raw_text
    stream_a, stream_b = stream_both(a, b, LONG, SHORT, temperature=0, max_new_tokens=16)
    text_a = await _read(stream_a)  # one side read to its end, then the other
    text_b = await _read(stream_b)
    assert (text_a, stream_a.response) == (base.raw_text, base)
    assert (text_b, stream_b.response) == (tuned.raw_text, tuned)
    assert (await a.chat(LONG, temperature=0, max_new_tokens=16)) == base
    assert (await b.chat(SHORT, temperature=0, max_new_tokens=16)) == tuned


async def test_each_view_works_alone(
    pair: tuple[SharedBaseEngine, SharedBaseEngine], hf_engine: HuggingfaceEngine
) -> None:
    a, b = pair
    assert a.request(LONG).prompt_ids == hf_engine.request(LONG).prompt_ids
    assert b.tokenizer is not a.tokenizer and b.tokenizer.decode(b.request(SHORT).prompt_ids).endswith("assistant\n")
    assert (a.model_name, a.settings, a.stop_ids) == (hf_engine.model_name, hf_engine.settings, hf_engine.stop_ids)
    stream = b.stream_chat(SHORT, temperature=0, max_new_tokens=6)
    text = await _read(stream)
    assert text == stream.response.raw_text and stream.response.completion_tokens == 6


async def test_both_answers_stream_at_once(pair: tuple[SharedBaseEngine, SharedBaseEngine]) -> None:
    events = await _read_both(*stream_both(*pair, LONG, LONG, temperature=0, max_new_tokens=24))
    first_end = min(i for i, (_, chunk) in enumerate(events) if chunk is None)
    assert {side for side, _ in events[:first_end]} == {"a", "b"}  # both sides had text before either ended


async def test_settings_are_the_first_requests(pair: tuple[SharedBaseEngine, SharedBaseEngine]) -> None:
    a, b = pair
    b.settings["max_new_tokens"] = 2
    try:
        stream_a, stream_b = stream_both(a, b, SHORT, SHORT, temperature=0, max_new_tokens=None)
        await _read_both(stream_a, stream_b)
    finally:
        b.settings["max_new_tokens"] = a.settings["max_new_tokens"]
    assert stream_a.response.completion_tokens == stream_b.response.completion_tokens == a.settings["max_new_tokens"]


async def test_a_stop_string_ends_its_own_row(pair: tuple[SharedBaseEngine, SharedBaseEngine]) -> None:
    a, b = pair
    whole_b = (await b.chat(SHORT, temperature=0, max_new_tokens=24)).raw_text
    stop = whole_b[2:5]
    stream_a, stream_b = stream_both(a, b, SHORT, SHORT, temperature=0, max_new_tokens=24, stop=[stop])
    await _read_both(stream_a, stream_b)
    assert stop not in (await a.chat(SHORT, temperature=0, max_new_tokens=24)).raw_text
    assert (stream_a.response.finish_reason, stream_a.response.completion_tokens) == ("length", 24)
    assert (stream_b.response.text, stream_b.response.finish_reason) == (whole_b[: whole_b.index(stop)], "stop")
    assert stream_b.response.completion_tokens < 24


async def test_cancelling_one_row_leaves_the_other(pair: tuple[SharedBaseEngine, SharedBaseEngine]) -> None:
    a, b = pair

    async def cancel_at_first_chunk(stream: ChatStream) -> None:
        async for _ in stream:
            stream.cancel()

    stream_a, stream_b = stream_both(a, b, LONG, SHORT, temperature=0, max_new_tokens=200)
    await asyncio.gather(cancel_at_first_chunk(stream_a), _read(stream_b))
    assert stream_a.response.finish_reason == "cancelled" and stream_a.response.completion_tokens < 50
    assert (stream_b.response.finish_reason, stream_b.response.completion_tokens) == ("length", 200)

    async def stop_b_at_first_chunk() -> None:
        async for _ in stream_b:
            b.stop()

    stream_a, stream_b = stream_both(a, b, LONG, SHORT, temperature=0, max_new_tokens=200)
    await asyncio.gather(_read(stream_a), stop_b_at_first_chunk())
    assert stream_b.response.finish_reason == "cancelled" and stream_b.response.completion_tokens < 50
    assert stream_a.response.finish_reason == "length"

    stream_a, stream_b = stream_both(a, b, LONG, SHORT, temperature=0, max_new_tokens=4)
    await _read_both(stream_a, stream_b)
    assert stream_a.response.completion_tokens == stream_b.response.completion_tokens == 4


async def test_a_pair_on_two_models_streams_both(tiny_model_dir: Path, tmp_path: Path) -> None:
    from lmf_engine.model.tiny import build_tiny_model

    other = build_tiny_model(tmp_path / "other", seed=1)
    a, b = open_pair(tiny_config(tiny_model_dir), tiny_config(other))
    assert isinstance(a, HuggingfaceEngine) and isinstance(b, HuggingfaceEngine)
    stream_a, stream_b = stream_both(a, b, SHORT, SHORT, temperature=0, max_new_tokens=12)
    await _read_both(stream_a, stream_b)
    assert stream_a.response.completion_tokens > 0 and stream_b.response.completion_tokens > 0
    assert parameter_bytes(a, b) == 2 * parameter_bytes(a)
    scripted = ScriptedEngine()
    events = await _read_both(*stream_both(a, scripted, SHORT, SHORT, max_new_tokens=3))
    assert "".join(chunk or "" for side, chunk in events if side == "b") == "Hello, world"
    await a.aclose()
    await b.aclose()


async def test_closing_frees_the_model(tiny_model_dir: Path, lora_adapter_dir: Path) -> None:
    a, b = open_pair(
        tiny_config(tiny_model_dir), tiny_config(tiny_model_dir, adapter_name_or_path=str(lora_adapter_dir))
    )
    await _read_both(*stream_both(a, b, SHORT, SHORT, max_new_tokens=3))
    shared = weakref.ref(a.model)
    await a.aclose()
    assert b.model is not None and (await b.chat(SHORT, max_new_tokens=2)).completion_tokens == 2
    await b.aclose()
    alone = HuggingfaceEngine(tiny_config(tiny_model_dir))
    await alone.chat(SHORT, max_new_tokens=2)
    single = weakref.ref(alone.model)
    await alone.aclose()
    gc.collect()
    assert shared() is None and single() is None
