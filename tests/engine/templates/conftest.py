"""Fixtures for the template tests: the golden files and a frozen date for the llama3 tool prompt."""

from typing import Any

import pytest
from lf_golden_support import FIXTURES, load_goldens, load_samples

from lmf_engine.data.templates.tools import base


@pytest.fixture(scope="session")
def goldens() -> dict[str, Any]:
    return load_goldens(FIXTURES / "goldens.json.gz")


@pytest.fixture(scope="session")
def samples() -> list[dict[str, Any]]:
    return load_samples()


@pytest.fixture
def frozen_date(monkeypatch: pytest.MonkeyPatch, goldens: dict[str, Any]) -> str:
    """The date the goldens were written with, as the llama3 tool prompt's "Today Date"."""
    date = goldens["meta"]["date"]
    monkeypatch.setattr(base, "today", lambda: date)
    return date
