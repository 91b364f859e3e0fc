"""The vLLM back end without vLLM: one clear error when it is missing, and the requests it would build."""

import importlib.util
from pathlib import Path

import pytest
from chat_support import tiny_config

from lmf_engine.chat import BackendUnavailable, ChatError, create_engine
from lmf_engine.chat.settings import base_settings, merge_settings
from lmf_engine.chat.vllm_engine import engine_args, lora_request_args, sampling_kwargs


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_choosing_vllm_without_it_is_one_clear_error(tiny_model_dir: Path) -> None:
    with pytest.raises(BackendUnavailable, match=r"infer_backend: vllm needs the `vllm` package.*huggingface"):
        create_engine(tiny_config(tiny_model_dir, infer_backend="vllm"))


def test_engine_args_follow_the_config(tiny_model_dir: Path) -> None:
    config = tiny_config(
        tiny_model_dir,
        infer_backend="vllm",
        vllm_maxlen=1024,
        vllm_gpu_util=0.5,
        vllm_enforce_eager=True,
        infer_dtype="bfloat16",
        vllm_config='{"max_num_seqs": 8}',
    )
    args = engine_args(config, "0.11.0", device_count=2)
    assert args["model"] == str(tiny_model_dir)
    assert (args["max_model_len"], args["gpu_memory_utilization"], args["enforce_eager"]) == (1024, 0.5, True)
    assert (args["dtype"], args["tensor_parallel_size"], args["max_num_seqs"]) == ("bfloat16", 2, 8)
    assert args["enable_lora"] is False
    assert args["enable_log_requests"] is False and "disable_log_requests" not in args
    assert engine_args(config, "0.9.2", device_count=0)["disable_log_requests"] is True


def test_a_lora_adapter_becomes_a_lora_request(tiny_model_dir: Path, lora_adapter_dir: Path) -> None:
    config = tiny_config(tiny_model_dir, infer_backend="vllm", adapter_name_or_path=str(lora_adapter_dir))
    assert lora_request_args(config) == ("default", 1, str(lora_adapter_dir))
    assert engine_args(config, "0.11.0", 1)["enable_lora"] is True
    assert lora_request_args(tiny_config(tiny_model_dir)) is None
    two = tiny_config(tiny_model_dir, adapter_name_or_path=f"{lora_adapter_dir},{lora_adapter_dir}")
    with pytest.raises(ChatError, match="one LoRA adapter"):
        lora_request_args(two)


def test_sampling_params_follow_the_settings(tiny_model_dir: Path) -> None:
    settings = base_settings(tiny_config(tiny_model_dir))
    kwargs = sampling_kwargs(merge_settings(settings, {"temperature": 0.4, "seed": 3, "stop": "END"}), 20, [7, 9])
    assert kwargs["temperature"] == 0.4
    assert (kwargs["max_tokens"], kwargs["stop_token_ids"], kwargs["stop"], kwargs["seed"]) == (8, [7, 9], ["END"], 3)
    greedy = sampling_kwargs(merge_settings(settings, {"do_sample": False, "top_k": 0}), 20, [7])
    assert (greedy["temperature"], greedy["top_k"]) == (0.0, -1)
    by_length = dict(settings, max_new_tokens=None, max_length=50)
    assert sampling_kwargs(by_length, 20, [7])["max_tokens"] == 30
    assert sampling_kwargs(by_length, 60, [7])["max_tokens"] == 1
