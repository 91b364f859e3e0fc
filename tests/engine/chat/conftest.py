"""Fixtures of the chat engine tests: the tiny model's engine and a LoRA adapter made with peft."""

from pathlib import Path

import pytest
from chat_support import tiny_config
from fixtures.tiny_adapter import make_lora_adapter


@pytest.fixture(scope="session")
def lora_adapter_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA adapter of the tiny model (non-zero weights), as a run would save it."""
    return make_lora_adapter(tiny_model_dir, tmp_path_factory.mktemp("lora") / "adapter")


@pytest.fixture(scope="module")
def hf_engine(tiny_model_dir: Path):
    """The transformers engine on the tiny model (greedy-capable, 8 new tokens by default)."""
    from lmf_engine.chat.hf_engine import HuggingfaceEngine

    return HuggingfaceEngine(tiny_config(tiny_model_dir))
