"""Fixtures for the template view tests: fresh copies of the tiny model's tokenizer (tests change them)."""

import copy
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def base_tokenizer(tiny_model_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture
def tokenizer(base_tokenizer: Any) -> Any:
    """A copy of the tiny Qwen2 tokenizer (eos <|im_end|>, pad <|endoftext|>, no bos, a ChatML jinja template)."""
    return copy.deepcopy(base_tokenizer)


@pytest.fixture
def bos_tokenizer(base_tokenizer: Any) -> Any:
    """A copy that has a BOS token (<|endoftext|>) and adds it when text is tokenized with special tokens."""
    tok = copy.deepcopy(base_tokenizer)
    tok.bos_token = "<|endoftext|>"
    tok.add_bos_token = True
    return tok
