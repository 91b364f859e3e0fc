"""The transformers back end on the tiny model: prompts, answers equal to raw generate, streaming, stop, adapters."""

import asyncio
from pathlib import Path

import pytest
import torch
from chat_support import tiny_config
from transformers import AutoModelForCausalLM

from lmf_engine.chat import BackendUnavailable, RequestError
from lmf_engine.chat.hf_engine import HuggingfaceEngine

SYSTEM = "You are a helpful assistant."
CONVERSATION = [
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "Paris."},
    {"role": "user", "content": "And of Japan?"},
]


def _raw_greedy(model, prompt: list[int], stop_ids: list[int], max_new_tokens: int) -> list[int]:
    inputs = torch.tensor([prompt])
    with torch.inference_mode():
        out = model.generate(
            inputs,
            attention_mask=torch.ones_like(inputs),
            do_sample=False,
            max_new_tokens=max_new_tokens,
            eos_token_id=stop_ids,
            pad_token_id=stop_ids[0],
        )
    return out[0, len(prompt) :].tolist()


def test_prompt_ids_match_the_tokenizers_chat_template(hf_engine: HuggingfaceEngine) -> None:
    request = hf_engine.request(CONVERSATION, system=SYSTEM)
    expected = hf_engine.tokenizer.apply_chat_template(
        [{"role": "system", "content": SYSTEM}, *CONVERSATION], add_generation_prompt=True, return_dict=True
    )["input_ids"]
    assert request.prompt_ids == list(expected)


async def test_greedy_answer_equals_raw_generate(hf_engine: HuggingfaceEngine, tiny_model_dir: Path) -> None:
    response = await hf_engine.chat(CONVERSATION, system=SYSTEM, temperature=0, max_new_tokens=12)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    prompt = hf_engine.request(CONVERSATION, system=SYSTEM).prompt_ids
    ids = _raw_greedy(model, prompt, hf_engine.stop_ids, 12)
    assert response.raw_text == hf_engine.tokenizer.decode(ids, skip_special_tokens=True)
    assert (response.prompt_tokens, response.completion_tokens) == (len(prompt), len(ids))
    assert response.finish_reason == ("stop" if ids[-1] in hf_engine.stop_ids else "length")


async def test_streamed_chunks_join_to_the_answer(hf_engine: HuggingfaceEngine) -> None:
    whole = await hf_engine.chat(CONVERSATION, temperature=0, max_new_tokens=16)
    stream = hf_engine.stream_chat(CONVERSATION, temperature=0, max_new_tokens=16)
    chunks = [chunk async for chunk in stream]
    assert "".join(chunks) == whole.raw_text
    assert stream.response == whole


async def test_finish_reasons_length_and_stop(hf_engine: HuggingfaceEngine) -> None:
    short = await hf_engine.chat(CONVERSATION, temperature=0, max_new_tokens=3)
    assert (short.finish_reason, short.completion_tokens) == ("length", 3)
    saved = list(hf_engine.stop_ids)
    try:
        first = _raw_greedy(hf_engine.model, hf_engine.request(CONVERSATION).prompt_ids, saved, 1)[0]
        hf_engine.stop_ids = [*saved, first]
        stopped = await hf_engine.chat(CONVERSATION, temperature=0, max_new_tokens=10)
    finally:
        hf_engine.stop_ids = saved
    assert (stopped.finish_reason, stopped.completion_tokens) == ("stop", 1)


async def test_stop_strings_cut_the_answer(hf_engine: HuggingfaceEngine) -> None:
    greedy = (await hf_engine.chat(CONVERSATION, temperature=0, max_new_tokens=24)).raw_text
    assert len(greedy) >= 6
    stop = greedy[3:5]
    response = await hf_engine.chat(CONVERSATION, temperature=0, max_new_tokens=24, stop=[stop])
    assert response.text == greedy[: greedy.index(stop)]
    assert response.finish_reason == "stop"


async def test_stop_cancels_a_long_answer(hf_engine: HuggingfaceEngine) -> None:
    stream = hf_engine.stream_chat(CONVERSATION, temperature=1.0, max_new_tokens=1500)
    async for _ in stream:
        hf_engine.stop()
    assert stream.response.finish_reason == "cancelled"
    assert stream.response.completion_tokens < 100
    assert (await hf_engine.chat(CONVERSATION, max_new_tokens=2)).finish_reason in ("length", "stop")


async def test_the_generation_thread_takes_the_callers_torch_threads(hf_engine: HuggingfaceEngine) -> None:
    await hf_engine.chat(CONVERSATION, max_new_tokens=1)  # the worker thread runs, with the count of that time
    before = torch.get_num_threads()
    wanted = 2 if before == 1 else 1
    torch.set_num_threads(wanted)
    try:
        await hf_engine.chat(CONVERSATION, max_new_tokens=1)
        in_worker = await asyncio.wrap_future(hf_engine._worker.call(torch.get_num_threads))
    finally:
        torch.set_num_threads(before)
    assert in_worker == wanted


async def test_generations_run_one_at_a_time(hf_engine: HuggingfaceEngine) -> None:
    events: list[tuple[int, str]] = []

    async def one(i: int) -> None:
        async for _ in hf_engine.stream_chat(CONVERSATION, temperature=0, max_new_tokens=6):
            events.append((i, "chunk"))
        events.append((i, "end"))

    await asyncio.gather(one(0), one(1), one(2))
    owners = [i for i, _ in events]
    assert owners == sorted(owners)


async def test_a_seed_makes_sampling_repeatable(hf_engine: HuggingfaceEngine) -> None:
    first = await hf_engine.chat(CONVERSATION, temperature=1.0, top_p=1.0, top_k=0, seed=5, max_new_tokens=12)
    second = await hf_engine.chat(CONVERSATION, temperature=1.0, top_p=1.0, top_k=0, seed=5, max_new_tokens=12)
    other = await hf_engine.chat(CONVERSATION, temperature=1.0, top_p=1.0, top_k=0, seed=6, max_new_tokens=12)
    assert first.raw_text == second.raw_text
    assert other.raw_text != first.raw_text


def test_bad_conversations_are_request_errors(hf_engine: HuggingfaceEngine) -> None:
    with pytest.raises(RequestError, match="tool"):
        hf_engine.request(CONVERSATION, tools="{not json")
    with pytest.raises(RequestError, match="at most 2048"):
        hf_engine.request([{"role": "user", "content": "word " * 3000}])


async def test_an_adapter_changes_the_answer_as_peft_does(
    hf_engine: HuggingfaceEngine, tiny_model_dir: Path, lora_adapter_dir: Path
) -> None:
    from peft import PeftModel

    engine = HuggingfaceEngine(tiny_config(tiny_model_dir, adapter_name_or_path=str(lora_adapter_dir)))
    tuned = await engine.chat(CONVERSATION, temperature=0, max_new_tokens=12)
    base = await hf_engine.chat(CONVERSATION, temperature=0, max_new_tokens=12)
    assert tuned.raw_text != base.raw_text
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), lora_adapter_dir)
    ids = _raw_greedy(model.eval(), engine.request(CONVERSATION).prompt_ids, engine.stop_ids, 12)
    assert tuned.raw_text == engine.tokenizer.decode(ids, skip_special_tokens=True)


async def test_a_reward_model_scores_texts_and_cannot_chat(tiny_model_dir: Path) -> None:
    engine = HuggingfaceEngine(tiny_config(tiny_model_dir, stage="rm", finetuning_type="lora"))
    texts = ["The capital of France is Paris.", "Blue"]
    scores = await engine.score(texts)
    assert len(scores) == 2 and all(isinstance(s, float) for s in scores)
    alone = await engine.score(texts[1:])
    assert alone[0] == pytest.approx(scores[1], abs=1e-5)
    with pytest.raises(BackendUnavailable, match="reward model"):
        await engine.chat(CONVERSATION)


async def test_the_demo_chat_config_with_a_run_folder_adapter(
    demo_workspace: Path, lora_adapter_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from lmf_engine.chat import create_engine
    from lmf_engine.config import load_config

    workspace = tmp_path / "workspace"
    shutil.copytree(demo_workspace, workspace)
    shutil.copytree(lora_adapter_dir, workspace / "runs" / "sft_lora" / "checkpoint-5")
    monkeypatch.chdir(workspace)
    engine = create_engine(load_config("configs/chat.yaml"))
    stream = engine.stream_chat(CONVERSATION, temperature=0)
    text = "".join([chunk async for chunk in stream])
    assert text == stream.response.raw_text
    assert stream.response.completion_tokens <= 64
    plain = create_engine(load_config("configs/chat.yaml", ["adapter_name_or_path=null"]))
    assert (await plain.chat(CONVERSATION, temperature=0)).raw_text != text
