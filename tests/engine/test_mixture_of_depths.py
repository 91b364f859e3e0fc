"""``mixture_of_depths`` is refused with the reason: the mixture-of-depth package cannot work with transformers 5."""

from pathlib import Path

import pytest

from lmf_engine.config import check_config


@pytest.mark.parametrize("value", ["convert", "load"])
def test_mixture_of_depths_is_refused_with_the_reason(tmp_path: Path, value: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"mixture_of_depths: {value}\n")
    _, issues = check_config(path)
    assert [issue.key for issue in issues] == ["mixture_of_depths"]
    assert "mixture-of-depth package" in issues[0].message
    assert "cannot work with transformers 5" in issues[0].message
