"""Browsing dataset files without reading them whole."""

import json
from pathlib import Path

import pytest

from lmf_engine.data import preview
from lmf_engine.data.preview import Cancel, PreviewError, open_rows

ROWS = [{"instruction": f"question {i}", "input": "", "output": f"answer {i} ✓"} for i in range(2000)]


def write_jsonl(path: Path, rows: list[dict], tail: str = "") -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows) + tail, encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", ["jsonl", "json-array", "json-lines-named-json", "csv", "parquet", "arrow", "txt"])
def test_every_format_pages_and_counts(tmp_path: Path, kind: str) -> None:
    if kind == "jsonl":
        path = write_jsonl(tmp_path / "d.jsonl", ROWS)
    elif kind == "json-lines-named-json":
        path = write_jsonl(tmp_path / "d.json", ROWS)
    elif kind == "json-array":
        path = tmp_path / "d.json"
        path.write_text(json.dumps(ROWS, indent=2, ensure_ascii=False), encoding="utf-8")
    elif kind == "csv":
        import csv

        path = tmp_path / "d.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(ROWS[0]))
            writer.writeheader()
            writer.writerows(ROWS)
    elif kind == "txt":
        path = tmp_path / "d.txt"
        path.write_text("".join(r["instruction"] + "\n" for r in ROWS), encoding="utf-8")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(ROWS)
        if kind == "parquet":
            path = tmp_path / "d.parquet"
            pq.write_table(table, path, row_group_size=300)
        else:
            path = tmp_path / "d.arrow"
            with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
                for batch in table.to_batches(max_chunksize=300):
                    writer.write_batch(batch)
    source = open_rows(path)
    expected = [{"text": r["instruction"]} for r in ROWS] if kind == "txt" else ROWS
    assert source.head(3) == expected[:3]
    assert source.page(1290, 20) == expected[1290:1310]
    assert source.row(1999) == expected[1999]
    assert source.row(5) == expected[5]  # going back after a far jump
    with pytest.raises(IndexError):
        source.row(2000)
    assert source.count() == 2000
    assert [i for i, _ in source.search("QUESTION 19", column="instruction" if kind != "txt" else "text")] == [
        19, *range(190, 200), *range(1900, 2000)
    ]  # fmt: skip


def test_first_page_does_not_read_the_rest(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "big.jsonl", ROWS, tail="{broken\n")
    assert open_rows(path).head(50) == ROWS[:50]
    array = tmp_path / "big.json"
    array.write_text(json.dumps(ROWS)[:-1] + ', {"x": }]', encoding="utf-8")
    assert open_rows(array).head(50) == ROWS[:50]


def test_sparse_index_makes_row_n_cheap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preview, "STRIDE", 100)
    source = open_rows(write_jsonl(tmp_path / "d.jsonl", ROWS))
    source.count()
    assert source.row(1999) == ROWS[1999]
    decoded = []
    original = source._decode
    monkeypatch.setattr(source, "_decode", lambda raw, n: decoded.append(n) or original(raw, n))
    assert source.row(1950) == ROWS[1950]
    assert len(decoded) <= 100


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", ROWS[:3], tail='{"instruction": "x",, }\n')
    with pytest.raises(PreviewError, match=r"d\.jsonl:4:21: invalid JSON"):
        open_rows(path).page(0, 10)
    array = tmp_path / "a.json"
    array.write_text('[\n  {"a": 1},\n  {"a": 2,}\n]\n')
    with pytest.raises(PreviewError, match=r"a\.json:3:11: invalid JSON"):
        open_rows(array).page(0, 10)


def test_non_row_files_are_explained(tmp_path: Path) -> None:
    obj = tmp_path / "info.json"
    obj.write_text('{\n  "a": {"file_name": "x.json"}\n}\n')
    with pytest.raises(PreviewError, match="one JSON object, not rows"):
        open_rows(obj)
    with pytest.raises(PreviewError, match="file not found"):
        open_rows(tmp_path / "missing.jsonl")
    (tmp_path / "d.xml").write_text("<a/>")
    with pytest.raises(PreviewError, match=r"cannot preview \.xml"):
        open_rows(tmp_path / "d.xml")


def test_count_reports_progress_and_can_be_cancelled(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", ROWS * 20)
    seen: list[tuple[int, int]] = []
    assert open_rows(path).count(progress=lambda done, total: seen.append((done, total))) == 40000
    assert seen[-1][0] == seen[-1][1] == path.stat().st_size
    cancel = Cancel.new()
    cancel.set()
    assert open_rows(path).count(cancel=cancel) is None
