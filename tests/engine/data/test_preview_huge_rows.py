"""A huge cell: pages are read with strings cut, and a row over LAZY_BYTES is parsed lazily in bounded memory."""

import json
import tracemalloc
from pathlib import Path

import pytest

from lmf_engine.data.cut_text import CutText, LazyJson, cut_lengths
from lmf_engine.data.preview import LAZY_BYTES, PreviewError, open_rows

BIG = 24 * LAZY_BYTES  # 24 MiB of one character


def big_rows() -> list[dict]:
    return [
        {"instruction": "short", "input": "", "output": "ok"},
        {"instruction": "x" * BIG, "input": "", "output": "done"},
        {"instruction": "third", "input": "", "output": "fine"},
    ]


@pytest.mark.parametrize("suffix", ["jsonl", "json"])
def test_a_huge_cell_is_cut_and_memory_stays_bounded(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"big.{suffix}"
    rows = big_rows()
    text = "".join(json.dumps(r) + "\n" for r in rows) if suffix == "jsonl" else json.dumps(rows)
    path.write_text(text)
    del text
    source = open_rows(path)
    tracemalloc.start()
    page = source.page(0, 10, keep=100)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 8 * LAZY_BYTES, f"reading the page allocated {peak:,} bytes"  # a third of the cell
    assert [r["output"] for r in page] == ["ok", "done", "fine"]
    cell = page[1]["instruction"]
    assert isinstance(cell, CutText) and cell.total == BIG
    assert cell == "x" * 100 + f"… {BIG - 100:,} more characters"
    assert cut_lengths(page[1]) == {"instruction": BIG} and cut_lengths(page[0]) == {}
    assert source.page(2, 1, keep=100) == [rows[2]]  # the row after the huge one is found
    assert source.count() == 3
    assert source.page(1, 1)[0]["instruction"] == "x" * BIG  # without keep, rows come whole (statistics)


def test_lazy_parse_matches_json_for_nested_rows_and_escapes() -> None:
    row = {
        "conversations": [
            {"from": "human", "value": 'é "quoted" \\ back\nline 😀 \u2028'},
            {"from": "gpt", "value": ""},
        ],
        "n": [1, -2.5e3, True, False, None, {}, []],
        "system": "s" * 300,
    }
    for ascii_only in (True, False):
        text = json.dumps(row, ensure_ascii=ascii_only)
        chunks = iter([text[i : i + 5] for i in range(5, len(text), 5)])
        value = LazyJson(text[:5], 0, lambda chunks=chunks: next(chunks, ""), 50).value()
        assert value["conversations"] == row["conversations"] and value["n"] == row["n"]
        assert value["system"].total == 300 and value["system"].startswith("s" * 50 + "… 250 more")  # type: ignore[attr-defined]


def test_an_invalid_huge_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": "b"}\n{"a": "' + "y" * (2 * LAZY_BYTES) + '" "b": 1}\n')
    with pytest.raises(PreviewError, match=r"bad.jsonl:2:\d+: invalid JSON: Expecting ',' delimiter"):
        open_rows(path).page(0, 5, keep=10)


def test_a_huge_text_line_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("first\n" + "z" * (2 * LAZY_BYTES) + "\nlast\n")
    page = open_rows(path).page(0, 5, keep=10)
    assert [str(r["text"])[:10] for r in page] == ["first", "z" * 10, "last"]
    assert page[1]["text"].total == 2 * LAZY_BYTES
