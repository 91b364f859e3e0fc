"""``infer_backend: sglang``: the server's command line, a chat round trip with a stand-in server started the same way
(tests/fixtures/fake_sglang, a minimal OpenAI server that answers with the prompt its chat template renders), stopping
it with the engine, and the one-line errors."""

import asyncio
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from chat_support import tiny_config

from lmf_engine.chat.errors import BackendUnavailable, ChatError
from lmf_engine.chat.factory import create_engine
from lmf_engine.chat.sglang_server import server_command
from lmf_engine.config import ConfigError, load_config
from lmf_engine.model.tokenizer import load_tokenizer

FAKE_SGLANG = Path(__file__).resolve().parents[2] / "fixtures" / "fake_sglang"
QWEN_PROMPT = (
    "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
    "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
)


def test_server_command_carries_llama_factory_settings(tiny_model_dir: Path) -> None:
    config = tiny_config(
        tiny_model_dir,
        infer_backend="sglang",
        infer_dtype="bfloat16",
        sglang_maxlen=2048,
        sglang_mem_fraction=0.5,
        sglang_lora_backend="flashinfer",
        cache_dir="/cache",
        trust_remote_code=True,
        sglang_config='{"chunked_prefill_size": 512, "enable_torch_compile": true, "disable_cuda_graph": false}',
    )
    command = server_command(config, 4321, device_count=2, chat_template="/t/chat.jinja", adapter="/runs/a")
    assert command[:3] == [sys.executable, "-m", "sglang.launch_server"]
    options = " ".join(command[3:])
    assert options == (
        f"--model-path {tiny_model_dir} --host 127.0.0.1 --port 4321 --served-model-name tiny-qwen2 "
        "--dtype bfloat16 --context-length 2048 --mem-fraction-static 0.5 --tp-size 2 --log-level error "
        "--chat-template /t/chat.jinja --download-dir /cache --trust-remote-code --enable-lora "
        "--lora-paths lora0=/runs/a --max-loras-per-batch 1 --lora-backend flashinfer --disable-radix-cache "
        "--chunked-prefill-size 512 --enable-torch-compile"
    )
    plain = server_command(tiny_config(tiny_model_dir, sglang_tp_size=4), 1, device_count=0)
    assert "--tp-size 4" in " ".join(plain) and "--lora-paths" not in plain and "--chat-template" not in plain
    assert "--tp-size 1" in " ".join(server_command(tiny_config(tiny_model_dir), 1, device_count=0))


def test_without_sglang_the_engine_is_a_one_line_error(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "sglang" else real(name, *a))
    with pytest.raises(BackendUnavailable, match=r"^infer_backend: sglang needs the sglang package.*\[sglang\]"):
        create_engine(tiny_config(tiny_model_dir, infer_backend="sglang"))


def test_ktransformers_is_refused_and_sglang_rules() -> None:
    with pytest.raises(ConfigError, match="KTransformers back end is not supported yet"):
        load_config(values={"infer_backend": "ktransformers"})
    with pytest.raises(ConfigError, match="SGLang cannot load bitsandbytes"):
        load_config(values={"infer_backend": "sglang", "quantization_bit": 4})
    with pytest.raises(ConfigError, match="SGLang serves one adapter"):
        load_config(values={"infer_backend": "sglang", "adapter_name_or_path": "a,b"})
    with pytest.raises(ConfigError, match="sglang serves chat and the API only"):
        load_config(values={"infer_backend": "sglang", "do_train": True, "dataset": "x"})


@pytest.fixture
def fake_sglang(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stand-in ``sglang`` package importable here and in child processes; the file it records to."""
    monkeypatch.syspath_prepend(str(FAKE_SGLANG))
    monkeypatch.setenv("PYTHONPATH", str(FAKE_SGLANG))
    record = tmp_path / "sglang-record.jsonl"
    monkeypatch.setenv("FAKE_SGLANG_RECORD", str(record))
    return record


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_chat_round_trip_through_the_started_server(
    tiny_model_dir: Path, lora_adapter_dir: Path, fake_sglang: Path
) -> None:
    config = tiny_config(tiny_model_dir, infer_backend="sglang", adapter_name_or_path=str(lora_adapter_dir))
    engine = create_engine(config)
    try:
        assert engine.name == "sglang"
        argv = _records(fake_sglang)[0]["argv"]
        assert argv[argv.index("--lora-paths") + 1] == f"lora0={lora_adapter_dir}"
        assert argv[argv.index("--port") + 1] == str(engine.server.port)
        template_file = Path(argv[argv.index("--chat-template") + 1])
        assert template_file.is_file()
        response = asyncio.run(engine.chat([{"role": "user", "content": "Hi"}]))
        assert response.text == QWEN_PROMPT and response.finish_reason == "stop"

        async def streamed() -> str:
            return "".join([piece async for piece in engine.stream_chat([{"role": "user", "content": "Hi"}])])

        assert asyncio.run(streamed()) == QWEN_PROMPT
        body = _records(fake_sglang)[1]["body"]
        assert body["model"] == "tiny-qwen2" and body["lora_path"] == "lora0"
        assert body["max_tokens"] == 8 and body["temperature"] == config.get("temperature")
        assert body["top_p"] == config.get("top_p") and body["top_k"] == config.get("top_k")
        assert body["stop_token_ids"] == [load_tokenizer(config).convert_tokens_to_ids("<|im_end|>")]
    finally:
        asyncio.run(engine.aclose())
    assert not engine.server.running and not template_file.parent.exists()


def test_a_server_that_dies_is_a_clear_error(
    tiny_model_dir: Path, fake_sglang: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_SGLANG_FAIL", "CUDA out of memory while loading the model")
    with pytest.raises(ChatError, match=r"SGLang server exited \(code 1\) before it was ready: CUDA out of memory"):
        create_engine(tiny_config(tiny_model_dir, infer_backend="sglang"))


def test_sglang_serves_lora_adapters_only(tiny_model_dir: Path, tmp_path: Path, fake_sglang: Path) -> None:
    from peft import OFTConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir), OFTConfig(target_modules=["q_proj"]))
    model.save_pretrained(tmp_path / "oft")
    config = tiny_config(tiny_model_dir, infer_backend="sglang", adapter_name_or_path=str(tmp_path / "oft"))
    with pytest.raises(ChatError, match=r"SGLang serves LoRA adapters only, and .* is OFT; merge it"):
        create_engine(config)
    assert not fake_sglang.exists()
