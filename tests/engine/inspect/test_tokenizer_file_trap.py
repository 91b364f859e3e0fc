"""tokenizer_file_mismatch: the loaded tokenizer against the model folder's tokenizer.json.

transformers 5.2x loads a folder whose config says model_type qwen2 as Qwen2Tokenizer whatever tokenizer_config.json
names, and that class rebuilds the tokenizer with Qwen2's own normalizer and pre-tokenizer. The tiny builder writes
exactly Qwen2's, so the tiny model is clean; a copy whose tokenizer.json has another pre-tokenizer must be flagged.
"""

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lmf_engine.cli.main import app
from lmf_engine.data import tokenizer_file
from lmf_engine.data.samples import SAMPLE_MESSAGES
from lmf_engine.data.tokenizer_file import SAMPLES, compare_with_file
from lmf_engine.data.traps import check_tokenizer_file, detect_traps

TOKENIZER_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja")
BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}
GPT2_LIKE = {  # digits in runs, one leading space per word, no contraction rule: not Qwen2's regex
    "type": "Sequence",
    "pretokenizers": [
        {
            "type": "Split",
            "pattern": {"Regex": r" ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+"},
            "behavior": "Isolated",
            "invert": False,
        },
        BYTE_LEVEL,
    ],
}


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    tokenizer_file._file_side.cache_clear()


def copy_with_pre_tokenizer(src: Path, dest: Path, pre_tokenizer: dict[str, Any] | None) -> Path:
    """The tiny model's tokenizer files (config model_type qwen2) with tokenizer.json's pre-tokenizer replaced."""
    dest.mkdir(parents=True)
    for name in TOKENIZER_FILES:
        if (src / name).exists():
            shutil.copy2(src / name, dest / name)
    data = json.loads((dest / "tokenizer.json").read_text(encoding="utf-8"))
    data["pre_tokenizer"] = pre_tokenizer
    (dest / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return dest


def load(path: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


@pytest.fixture(scope="module")
def whitespace_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_with_pre_tokenizer(tiny_model_dir, tmp_path_factory.mktemp("ws") / "tiny", {"type": "Whitespace"})


@pytest.fixture(scope="module")
def gpt2_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_with_pre_tokenizer(tiny_model_dir, tmp_path_factory.mktemp("gpt2") / "tiny", GPT2_LIKE)


def test_the_tiny_tokenizer_is_substituted_but_encodes_as_its_file(tokenizer: Any, tiny_model_dir: Path) -> None:
    from tokenizers import Tokenizer

    # tokenizer_config.json names TokenizersBackend; transformers still picks Qwen2's class for model_type qwen2 ...
    assert json.loads((tiny_model_dir / "tokenizer_config.json").read_text())["tokenizer_class"] == "TokenizersBackend"
    assert type(tokenizer).__name__ == "Qwen2Tokenizer"
    # ... which rebuilds the pre-tokenizer, identical to the one the tiny builder wrote, so every sample agrees
    file = Tokenizer.from_file(str(tiny_model_dir / "tokenizer.json"))
    assert tokenizer.backend_tokenizer.pre_tokenizer.__getstate__() == file.pre_tokenizer.__getstate__()
    assert compare_with_file(tokenizer) is None
    assert check_tokenizer_file(tokenizer) == []


def test_a_whitespace_pre_tokenizer_is_flagged(whitespace_dir: Path) -> None:
    tok = load(whitespace_dir)
    assert type(tok).__name__ == "Qwen2Tokenizer"
    found = compare_with_file(tok)
    assert found is not None
    assert found.sample == SAMPLES[0] and found.loaded_ids != found.file_ids
    assert found.differs_in == ("pre-tokenizer",) and found.model_type == "qwen2"
    assert found.path == str(whitespace_dir / "tokenizer.json")
    [trap] = check_tokenizer_file(tok)
    assert trap.code == "tokenizer_file_mismatch" and trap.severity == "warning"
    for part in ("Qwen2Tokenizer", "model type qwen2", "its own pre-tokenizer", repr(SAMPLES[0]), found.path):
        assert part in trap.message
    assert " ".join(map(str, found.loaded_ids)) in trap.message
    assert " ".join(map(str, found.file_ids)) in trap.message
    assert "LLaMA-Factory with the same transformers version" in trap.message


def test_another_split_regex_is_flagged_on_the_first_differing_sample(gpt2_dir: Path) -> None:
    from tokenizers import Tokenizer

    tok = load(gpt2_dir)
    file = Tokenizer.from_file(str(gpt2_dir / "tokenizer.json"))
    differ = [t for t in SAMPLES if tok.encode(t, add_special_tokens=False) != file.encode(t).ids]
    assert differ
    found = compare_with_file(tok)
    assert found is not None and found.sample == differ[0] and found.differing == len(differ)
    assert found.file_ids == tuple(file.encode(differ[0]).ids)
    assert "".join(found.loaded_pieces) == "".join(found.file_pieces) == differ[0]
    codes = [t.code for t in detect_traps("qwen", tok, list(SAMPLE_MESSAGES))]
    assert "tokenizer_file_mismatch" in codes


def test_no_tokenizer_json_no_check(tiny_model_dir: Path, tmp_path: Path, tokenizer: Any) -> None:
    folder = tmp_path / "no-json"
    folder.mkdir()
    tokenizer.name_or_path = str(folder)
    assert check_tokenizer_file(tokenizer) == []
    tokenizer.name_or_path = "not/a-cached-repo"
    assert check_tokenizer_file(tokenizer) == []
    tokenizer.name_or_path = ""
    assert check_tokenizer_file(tokenizer) == []


def test_the_file_side_is_cached_per_path_and_mtime(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tokenizers

    folder = copy_with_pre_tokenizer(tiny_model_dir, tmp_path / "tiny", GPT2_LIKE)
    tok = load(folder)
    loads: list[str] = []
    real = tokenizers.Tokenizer.from_file

    def counting(path: str) -> Any:
        loads.append(path)
        return real(path)

    monkeypatch.setattr(tokenizers.Tokenizer, "from_file", counting)
    first = check_tokenizer_file(tok)
    assert check_tokenizer_file(tok) == first and len(loads) == 1
    # the file rewritten with Qwen2's own pre-tokenizer (a new mtime): read again, and now clean
    data = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    data["pre_tokenizer"] = json.loads(tok.backend_tokenizer.pre_tokenizer.__getstate__())
    (folder / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    stat = (folder / "tokenizer.json").stat()
    os.utime(folder / "tokenizer.json", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert check_tokenizer_file(tok) == [] and len(loads) == 2


def test_template_render_reports_it_in_text_and_json(gpt2_dir: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["template", "render", "--template", "qwen", "--model", str(gpt2_dir)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "traps: 1" in lines
    assert any(line.startswith("warning tokenizer_file_mismatch: the loaded tokenizer splits") for line in lines)
    result = runner.invoke(app, ["template", "render", "--template", "qwen", "--model", str(gpt2_dir), "--json"])
    assert result.exit_code == 0, result.output
    [trap] = json.loads(result.stdout)["traps"]
    assert trap["code"] == "tokenizer_file_mismatch" and trap["severity"] == "warning"
    assert "Qwen2Tokenizer" in trap["message"]


def test_the_tui_trap_report_shows_it(gpt2_dir: Path) -> None:
    pytest.importorskip("textual")
    from lmf_tui.widgets.trap_report import traps_content

    traps = check_tokenizer_file(load(gpt2_dir))
    text = traps_content(traps).plain
    assert text.startswith("1 trap(s) found.")
    assert "warning: tokenizer_file_mismatch" in text and traps[0].message in text
