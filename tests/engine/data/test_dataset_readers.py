"""Reading raw rows: every file type, folders, saved datasets, the hub when offline, and read errors."""

import hashlib
from pathlib import Path

import pytest
from dataset_support import alpaca_rows, write_info, write_json

from lmf_engine.data.errors import DataError
from lmf_engine.data.readers import locate_json_error, read_dataset, resolve_local
from lmf_engine.data.registry import parse_entry

ROWS = alpaca_rows(4)


def spec_for(file_name: str, **entry: object):
    return parse_entry("demo", {"file_name": file_name, **entry}, "data/dataset_info.json")


def write_table(path: Path, kind: str) -> Path:
    import pyarrow as pa

    table = pa.Table.from_pylist(ROWS)
    if kind == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, path)
    elif kind == "csv":
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, path)
    else:  # arrow: an IPC stream, as datasets writes them
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
    return path


@pytest.mark.parametrize("kind", ["json-array", "json-lines-named-json", "jsonl", "csv", "parquet", "arrow"])
def test_every_file_type_reads_the_same_rows(tmp_path: Path, data_cache: str, kind: str) -> None:
    name = {"json-array": "d.json", "json-lines-named-json": "d.json", "jsonl": "d.jsonl"}.get(kind, f"d.{kind}")
    if kind.startswith("json"):
        write_json(tmp_path / name, ROWS, lines=kind != "json-array")
    else:
        write_table(tmp_path / name, kind)
    dataset = read_dataset(spec_for(name), str(tmp_path), cache_dir=data_cache)
    rows = [{k: (v or "") for k, v in row.items()} for row in dataset]  # csv reads the empty input as null
    assert rows == ROWS


def test_text_files_give_one_text_row_per_line(tmp_path: Path, data_cache: str) -> None:
    (tmp_path / "t.txt").write_text("first\n\nthird\n")
    dataset = read_dataset(spec_for("t.txt"), str(tmp_path), cache_dir=data_cache)
    assert dataset.column_names == ["text"] and dataset["text"] == ["first", "", "third"]


def test_folder_reads_every_file_and_skips_hidden_ones(tmp_path: Path, data_cache: str) -> None:
    write_json(tmp_path / "parts" / "a.jsonl", alpaca_rows(2, "a"), lines=True)
    write_json(tmp_path / "parts" / "b.jsonl", alpaca_rows(3, "b"), lines=True)
    (tmp_path / "parts" / ".DS_Store").write_bytes(b"\0")
    source = resolve_local(spec_for("parts"), str(tmp_path))
    assert source.builder == "json" and len(source.files) == 2
    dataset = read_dataset(spec_for("parts"), str(tmp_path), cache_dir=data_cache)
    assert sorted(dataset["instruction"]) == ["a0", "a1", "b0", "b1", "b2"]


def test_saved_dataset_folders_load_from_disk(tmp_path: Path) -> None:
    from datasets import Dataset, DatasetDict

    Dataset.from_list(ROWS).save_to_disk(str(tmp_path / "saved"))
    assert read_dataset(spec_for("saved"), str(tmp_path))["instruction"] == [r["instruction"] for r in ROWS]
    DatasetDict({"train": Dataset.from_list(ROWS[:1]), "test": Dataset.from_list(ROWS[1:])}).save_to_disk(
        str(tmp_path / "dict")
    )
    assert len(read_dataset(spec_for("dict", split="test"), str(tmp_path))) == 3
    with pytest.raises(DataError, match="has no split 'validation' \\(it has train, test\\)"):
        read_dataset(spec_for("dict", split="validation"), str(tmp_path))


def test_streaming_local_files_yield_the_same_rows(tmp_path: Path, data_cache: str) -> None:
    write_json(tmp_path / "d.jsonl", ROWS, lines=True)
    stream = read_dataset(spec_for("d.jsonl"), str(tmp_path), streaming=True, num_shards=0, cache_dir=data_cache)
    assert list(stream) == ROWS  # num_shards 0 (dataloader_num_workers 0) would give LLaMA-Factory no rows


def test_malformed_json_array_names_file_line_and_column(tmp_path: Path, data_cache: str) -> None:
    (tmp_path / "bad.json").write_text(
        '[\n {"instruction": "a", "output": "b"},\n {"instruction": "c" "output": 1}\n]'
    )
    with pytest.raises(DataError) as info:
        read_dataset(spec_for("bad.json"), str(tmp_path), cache_dir=data_cache)
    path = tmp_path / "bad.json"
    assert str(info.value) == f"dataset demo: {path}: line 3, column 22: Expecting ',' delimiter"
    assert info.value.file == str(path)


def test_malformed_json_lines_names_the_line(tmp_path: Path, data_cache: str) -> None:
    (tmp_path / "bad.jsonl").write_text('{"instruction": "a"}\n\n{"instruction": "b",}\n')
    with pytest.raises(DataError, match=r"bad.jsonl: line 3, column 21: Expecting property name"):
        read_dataset(spec_for("bad.jsonl"), str(tmp_path), cache_dir=data_cache)


def test_locate_json_error_cases(tmp_path: Path) -> None:
    (tmp_path / "ok.jsonl").write_text('{"a": 1}\n{"a": 2}\n')
    assert locate_json_error(str(tmp_path / "ok.jsonl")) is None
    (tmp_path / "latin.jsonl").write_bytes(b'{"a": 1}\n{"a": "\xe9"}\n')
    assert locate_json_error(str(tmp_path / "latin.jsonl")) == (2, 8, "not UTF-8 text")


@pytest.mark.parametrize(
    ("setup", "file_name", "message"),
    [
        (
            lambda p: None,
            "missing.json",
            "data/dataset_info.json, entry 'demo': file_name 'missing.json': .* does not exist",
        ),
        (lambda p: (p / "d.xlsx").write_text("x"), "d.xlsx", "allowed file types are arrow, csv, json, jsonl"),
        (lambda p: (p / "f").mkdir(), "f", "folder .* has no data files"),
        (
            lambda p: [(p / "f").mkdir(), (p / "f" / "a.json").write_text("[]"), (p / "f" / "b.csv").write_text("x")],
            "f",
            "mixes file types",
        ),
        (
            lambda p: [(p / "f" / "sub").mkdir(parents=True), (p / "f" / "a.json").write_text("[]")],
            "f",
            "holds a subfolder",
        ),
    ],
)
def test_local_source_errors(tmp_path: Path, setup, file_name: str, message: str) -> None:
    setup(tmp_path)
    with pytest.raises(DataError, match=message):
        read_dataset(spec_for(file_name), str(tmp_path))


def test_hub_datasets_fail_clearly_when_offline(tmp_path: Path) -> None:
    spec = parse_entry("alpaca_gpt4_en", {"hf_hub_url": "llamafactory/alpaca_gpt4_en"})
    with pytest.raises(DataError) as info:
        read_dataset(spec, str(tmp_path))
    assert str(info.value) == (
        "offline: cannot reach the hub for dataset alpaca_gpt4_en (llamafactory/alpaca_gpt4_en); "
        "download it and point file_name at the local copy"
    )
    with pytest.raises(DataError, match=r"ModelScope hub .* download it and point file_name at the local copy"):
        read_dataset(parse_entry("m", {"ms_hub_url": "org/x"}), str(tmp_path))
    with pytest.raises(DataError, match=r"cloud_file_name .* is not supported"):
        read_dataset(parse_entry("c", {"cloud_file_name": "s3://b/x.json"}), str(tmp_path))


def test_reading_never_changes_the_data_folder(tmp_path: Path, data_cache: str) -> None:
    write_json(tmp_path / "d.json", ROWS)
    write_json(tmp_path / "parts" / "a.jsonl", ROWS, lines=True)

    def snapshot() -> dict[str, str]:
        files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
        return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() + str(p.stat().st_mtime_ns) for p in files}

    from datasets import Dataset

    from lmf_engine.config import load_config
    from lmf_engine.data.loading import load_data

    Dataset.from_list(ROWS).save_to_disk(str(tmp_path / "saved"))
    write_info(tmp_path, {n: {"file_name": n} for n in ("d.json", "parts", "saved")})
    before = snapshot()
    read_dataset(spec_for("d.json"), str(tmp_path), cache_dir=data_cache)
    read_dataset(spec_for("parts"), str(tmp_path), cache_dir=data_cache, streaming=True)
    for streaming in (False, True):
        values = {"dataset": "d.json,parts,saved", "dataset_dir": str(tmp_path), "cache_dir": data_cache}
        config = load_config(values={**values, "streaming": streaming, "max_steps": 5, "val_size": 2})
        loaded = load_data(config)
        assert len(list(loaded.train)) == 3 * len(ROWS) - 2
    assert snapshot() == before
