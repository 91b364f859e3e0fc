"""Every template x sample x option set x stage gives exactly LLaMA-Factory 0.9.5's ids, labels and masks.

The goldens (tests/fixtures/templates/goldens.json.gz) were written by scripts/lf_goldens.py with LLaMA-Factory
itself and the committed tokenizer; they also hold the tokenizer after the template's fixes and each template's
slots, so a template definition that drifts from LLaMA-Factory's fails here too.
"""

import json
import logging
from typing import Any

import pytest
from lf_golden_support import FIXTURES, TOKENIZER_DIR, Replayer, load_goldens, tokenizer_factory

GOLDENS = load_goldens(FIXTURES / "goldens.json.gz")
SPECS = json.loads((FIXTURES / "chat_templates.json").read_text())
ENTRIES = [(name, name, None) for name in GOLDENS["templates"]] + [
    (f"hf:{key}", None, SPECS[key]) for key in GOLDENS["hf"]
]


@pytest.fixture(autouse=True)
def _quiet() -> Any:
    logging.disable(logging.WARNING)
    yield
    logging.disable(logging.NOTSET)


@pytest.mark.parametrize(("label", "name", "spec"), ENTRIES, ids=[e[0] for e in ENTRIES])
def test_template_matches_llamafactory(
    label: str, name: str | None, spec: dict | None, samples: list, frozen_date: str
) -> None:
    entry = GOLDENS["hf"][label[3:]] if spec else GOLDENS["templates"][label]
    factory = tokenizer_factory(TOKENIZER_DIR, spec and spec["add_bos_token"], spec and spec["chat_template"])
    replayer = Replayer(samples, factory, name)
    replayer.run(entry)
    assert replayer.compared > 20
    assert not replayer.mismatches, "\n".join(str(m)[:2000] for m in replayer.mismatches[:5])


def test_goldens_cover_the_required_templates() -> None:
    required = {
        "default", "empty", "alpaca", "vicuna", "chatml", "qwen", "qwen3", "qwen3_nothink", "llama2", "llama3",
        "llama4", "mistral", "ministral", "gemma", "gemma2", "gemma3", "phi", "phi4", "deepseek", "deepseek3",
        "deepseekr1", "glm4", "yi", "cohere", "falcon", "zephyr", "openchat", "smollm2", "olmo", "granite3",
        "starchat", "intern2", "exaone",
    }  # fmt: skip
    assert required <= set(GOLDENS["templates"])
    stages = {case["stage"] for entry in GOLDENS["templates"].values() for case in entry["cases"]}
    assert stages == {"sft", "rm", "ppo", "kto", "pack", "pt"}
