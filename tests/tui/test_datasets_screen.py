"""Datasets screen: entries, paging, go to row, search, row detail, conversion errors and token-length statistics."""

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Input, ProgressBar
from tui_support import SIZE, settle

from lmf_tui.app import WorkbenchApp
from lmf_tui.dataset_entries import check_row
from lmf_tui.screens.ask import AskScreen
from lmf_tui.widgets.dataset_list import DatasetList
from lmf_tui.widgets.length_panel import LengthPanel
from lmf_tui.widgets.rows_panel import RowsPanel
from lmf_tui.widgets.rows_table import RowsTable
from lmf_tui.widgets.search_bar import SearchBar


def text_of(app: WorkbenchApp, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


def add_dataset(workspace: Path, name: str, file: str, rows: list[dict] | str, entry: dict | None = None) -> None:
    info_path = workspace / "data" / "dataset_info.json"
    info = json.loads(info_path.read_text())
    info[name] = {"file_name": file, **(entry or {})}
    info_path.write_text(json.dumps(info))
    text = rows if isinstance(rows, str) else "".join(json.dumps(r) + "\n" for r in rows)
    (workspace / "data" / file).write_text(text)


async def test_entries_show_format_kind_size_and_rows(make_app: Callable[..., WorkbenchApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DatasetList)
        rows = {key.value: [str(cell) for cell in table.get_row(key)] for key in table.rows}
        registry = json.loads((app.workspace.root / "data" / "dataset_info.json").read_text())
        assert list(rows) == list(registry)  # in registry order
        assert list(rows)[:6] == ["demo_sft", "demo_multiturn", "demo_dpo", "demo_kto", "demo_pt", "demo_identity"]
        assert rows["demo_sft"][:3] == ["demo_sft", "alpaca", "sft"]
        assert rows["demo_sft"][3].endswith("kB")
        assert rows["demo_multiturn"][1:3] == ["sharegpt", "sft"]
        assert rows["demo_dpo"][2] == "preference"
        assert rows["demo_kto"][2] == "kto"
        assert rows["demo_pt"][2] == "pretrain"
        counted = json.loads((app.workspace.root / "data" / "demo_sft.json").read_text())
        assert rows["demo_sft"][4] == f"{len(counted):,}"


async def test_paging_goto_and_detail(make_app: Callable[..., WorkbenchApp], workspace: Path) -> None:
    rows = [{"instruction": f"question {i}", "input": "", "output": f"answer {i}"} for i in range(250)]
    add_dataset(workspace, "many", "many.jsonl", rows)
    app = make_app(page_size=100)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DatasetList)
        table.move_cursor(row=table.get_row_index("many"))
        await settle(pilot)
        rows_table = app.screen.query_one(RowsTable)
        rows_table.focus()
        assert rows_table.row_count == 100
        assert "rows 1–100 of 250" in text_of(app, "#rows-title")
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert "rows 101–200 of 250" in text_of(app, "#rows-title")
        await pilot.press("right_square_bracket", "right_square_bracket")
        await settle(pilot)
        assert "rows 201–250 of 250" in text_of(app, "#rows-title")
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert "rows 101–200" in text_of(app, "#rows-title")
        await pilot.press("g")
        assert isinstance(app.screen, AskScreen)
        await pilot.press("2", "3", "7", "enter")
        await settle(pilot)
        assert "rows 201–250" in text_of(app, "#rows-title")
        assert app.screen.query_one(RowsTable).current().index == 236  # type: ignore[union-attr]
        detail = text_of(app, "#detail-messages")
        assert "question 236" in detail and "answer 236" in detail and "assistant (response)" in detail
        assert app.screen.query_one("#detail").border_title == "Row 237"
        await pilot.press("down")
        assert "question 237" in text_of(app, "#detail-messages")
        await pilot.press("g", *"abc", "enter")
        await settle(pilot)
        assert "rows 201–250" in text_of(app, "#rows-title")


async def test_search_within_a_column(make_app: Callable[..., WorkbenchApp]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.query_one(RowsTable).focus()
        await pilot.press("slash")
        bar = app.screen.query_one(SearchBar)
        assert bar.is_open and isinstance(app.focused, Input)
        bar.query_one("#search-column").value = "output"  # type: ignore[attr-defined]
        await pilot.press(*"= 10.", "enter")
        await settle(pilot)
        table = app.screen.query_one(RowsTable)
        outputs = [table.rows_by_key[str(k.value)].row["output"] for k in table.rows]
        assert outputs and all("= 10." in text for text in outputs)
        assert "matches for '= 10.' in output" in text_of(app, "#rows-title")
        assert "matches (no more)" in text_of(app, "#search-status")
        bar.query_one("#search-column").value = "instruction"  # type: ignore[attr-defined]
        bar.query_one(Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.query_one(RowsTable).row_count == 0
        await pilot.press("escape")
        await settle(pilot)
        assert not bar.is_open
        assert app.screen.query_one(RowsTable).row_count == 100
        assert "rows 1–100" in text_of(app, "#rows-title")


async def test_conversion_errors_name_file_row_and_reason(
    make_app: Callable[..., WorkbenchApp], workspace: Path
) -> None:
    rows = [
        {"instruction": "fine", "output": "yes"},
        {"instruction": "no answer here"},
        {"instruction": 3, "output": "x"},
    ]
    add_dataset(
        workspace, "broken", "broken.jsonl", rows, {"columns": {"prompt": "instruction", "response": "output"}}
    )
    info = json.loads((workspace / "data" / "dataset_info.json").read_text())
    info["missing_file"] = {"file_name": "nowhere.json"}
    info["hub_only"] = {"hf_hub_url": "someone/data"}
    (workspace / "data" / "dataset_info.json").write_text(json.dumps(info))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        datasets = app.screen.query_one(DatasetList)
        datasets.move_cursor(row=datasets.get_row_index("broken"))
        await settle(pilot)
        assert "2 on this page cannot be used (sft)" in text_of(app, "#rows-title")
        table = app.screen.query_one(RowsTable)
        table.focus()
        await pilot.press("down")
        detail = text_of(app, "#detail-messages")
        assert "cannot be used: data/broken.jsonl, row 2: the row has no field 'output'" in detail
        await pilot.press("down")
        assert "data/broken.jsonl, row 3:" in text_of(app, "#detail-messages")
        assert "not text" in text_of(app, "#detail-messages")
        assert datasets.get_row("missing_file")[2] == "invalid"
        datasets.move_cursor(row=datasets.get_row_index("missing_file"))
        await settle(pilot)
        title = text_of(app, "#rows-title")
        assert "file_name 'nowhere.json'" in title and "does not exist" in title
        datasets.move_cursor(row=datasets.get_row_index("hub_only"))
        await settle(pilot)
        assert "hub datasets are not previewed (no download)" in text_of(app, "#rows-title")
        assert datasets.get_row("hub_only")[3] == "hub"


async def test_workspace_without_registry_says_so(make_app: Callable[..., WorkbenchApp], tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    (empty / "configs").mkdir(parents=True)
    app = make_app(root=empty)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "cannot find" in text_of(app, "#rows-title") and "dataset_info.json" in text_of(app, "#rows-title")
        await pilot.press("s")
        assert app.screen.query_one(RowsPanel).page is None


@pytest.mark.slow
async def test_token_length_statistics(make_app: Callable[..., WorkbenchApp], monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[tuple[str, int | None]] = []
    original = LengthPanel.start
    monkeypatch.setattr(
        LengthPanel, "start", lambda self, what, total: (started.append((what, total)), original(self, what, total))
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        panel = app.screen.query_one(LengthPanel)
        assert [total for _, total in started] == [None, 107]  # loading the tokenizer, then measuring 107 rows
        assert "loading the tokenizer of configs/sft_lora.yaml" in started[0][0]
        assert not panel.has_class("-running")
        assert not panel.query_one(ProgressBar).display
        result = text_of(app, "#length-result")
        assert "107 rows" in result
        assert "p50" in result and "p99" in result
        assert "0 (0.0%) longer than cutoff_len 256" in result
        assert "template qwen" in text_of(app, "#length-info")


@pytest.mark.slow
async def test_statistics_count_truncated_rows_and_cancel(
    make_app: Callable[..., WorkbenchApp], workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = workspace / "configs" / "sft_lora.yaml"
    config.write_text(config.read_text().replace("cutoff_len: 256", "cutoff_len: 90"))
    rows = [{"instruction": "word " * (i % 40), "input": "", "output": "ok"} for i in range(3000)]
    add_dataset(workspace, "long", "long.jsonl", rows)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        datasets = app.screen.query_one(DatasetList)
        datasets.move_cursor(row=datasets.get_row_index("demo_sft"))
        await pilot.press("s")
        await settle(pilot)
        result = text_of(app, "#length-result")
        assert "longer than cutoff_len 90" in result and "0 (0.0%)" not in result
        datasets.move_cursor(row=datasets.get_row_index("long"))
        await settle(pilot)

        def slow_check(row: dict, entry: object) -> object:
            time.sleep(0.002)  # 3000 rows take ~6 s: time to cancel
            return check_row(row, entry)

        monkeypatch.setattr("lmf_tui.workers.check_row", slow_check)
        await pilot.press("s")
        for _ in range(100):
            await pilot.pause(0.05)
            if "measuring" in text_of(app, "#length-info"):
                break
        await pilot.press("escape")
        await settle(pilot)
        result = text_of(app, "#length-result")
        assert "cancelled: partial" in result
        assert int(result.split(" rows")[0]) < 3000


async def test_folder_dataset_next_file_and_focus_keys(make_app: Callable[..., WorkbenchApp], workspace: Path) -> None:
    folder = workspace / "data" / "parts"
    folder.mkdir()
    for part in (1, 2):
        rows = [{"instruction": f"part {part} row {i}", "output": "x"} for i in range(3)]
        (folder / f"part{part}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    info = json.loads((workspace / "data" / "dataset_info.json").read_text())
    info["parts"] = {"file_name": "parts"}
    (workspace / "data" / "dataset_info.json").write_text(json.dumps(info))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        datasets = app.screen.query_one(DatasetList)
        datasets.move_cursor(row=datasets.get_row_index("parts"))
        await settle(pilot)
        assert datasets.get_row("parts")[4] == "6"
        first = text_of(app, "#rows-title")
        assert "file 1/2 (f: next)" in first
        await pilot.press("enter")  # into the rows
        assert isinstance(app.focused, RowsTable)
        await pilot.press("f")
        await settle(pilot)
        second = text_of(app, "#rows-title")
        assert "file 2/2" in second
        assert {"part1.jsonl", "part2.jsonl"} == {first.split(" · ")[3][11:], second.split(" · ")[3][11:]}
        await pilot.press("f")
        await settle(pilot)
        assert "file 1/2" in text_of(app, "#rows-title")
        await pilot.press("d")
        assert isinstance(app.focused, DatasetList)


async def test_opening_another_config_switches_dataset_dir(
    make_app: Callable[..., WorkbenchApp], workspace: Path
) -> None:
    other = workspace / "other_data"
    other.mkdir()
    (other / "dataset_info.json").write_text(json.dumps({"only_one": {"file_name": "one.jsonl"}}))
    (other / "one.jsonl").write_text(json.dumps({"instruction": "q", "output": "a"}) + "\n")
    (workspace / "configs" / "other.yaml").write_text(
        "model_name_or_path: models/tiny-qwen2\ndataset_dir: other_data\n"
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        registry = json.loads((workspace / "data" / "dataset_info.json").read_text())
        assert app.screen.query_one(DatasetList).row_count == len(registry)
        await pilot.press("3")
        await settle(pilot)
        app.screen.open_path(workspace / "configs" / "other.yaml")  # type: ignore[attr-defined]
        await pilot.press("escape", "1")
        await settle(pilot)
        table = app.screen.query_one(DatasetList)
        assert [key.value for key in table.rows] == ["only_one"]
        assert table.get_row("only_one")[4] == "1"


async def test_tui_lists_what_the_cli_lists(make_app: Callable[..., WorkbenchApp], workspace: Path) -> None:
    """One engine listing: the TUI's entries are ``data list``'s, DatasetDict splits and kind names included."""
    from datasets import Dataset, DatasetDict
    from typer.testing import CliRunner

    from lmf_engine.cli.main import app as cli_app

    rows = [{"instruction": f"q{i}", "input": "", "output": f"a{i}"} for i in range(20)]
    DatasetDict({"train": Dataset.from_list(rows[:12]), "test": Dataset.from_list(rows[12:])}).save_to_disk(
        str(workspace / "data" / "dict")
    )
    info_path = workspace / "data" / "dataset_info.json"
    info = json.loads(info_path.read_text())
    info["saved_dict"] = {"file_name": "dict"}
    info["saved_test"] = {"file_name": "dict", "split": "test"}
    info["saved_none"] = {"file_name": "dict", "split": "validation"}
    info_path.write_text(json.dumps(info))
    result = CliRunner().invoke(cli_app, ["data", "list", "--json", "--dir", str(workspace / "data")])
    assert result.exit_code == 0, result.output
    cli_entries = {e["name"]: e for e in json.loads(result.stdout)}
    assert cli_entries["demo_pt"]["kind"] == "pretrain"
    assert [Path(f).relative_to(workspace / "data") for f in cli_entries["saved_dict"]["files"]] == [
        Path("dict/train/data-00000-of-00001.arrow")
    ]
    assert cli_entries["saved_dict"]["rows"] == 12 and cli_entries["saved_test"]["rows"] == 8
    assert "has no split 'validation' (it has train, test)" in cli_entries["saved_none"]["problem"]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        tui_entries = app.screen.entries  # type: ignore[attr-defined]
        assert list(tui_entries) == list(cli_entries)
        for name, entry in tui_entries.items():
            shown = {key: value for key, value in entry.to_dict().items()}
            assert shown == {key: cli_entries[name][key] for key in shown}, name
        table = app.screen.query_one(DatasetList)
        listed = {key.value: table.get_row(key) for key in table.rows}
        assert [str(listed[name][2]) for name in cli_entries] == [
            e["kind"] if e["problem"] is None else "invalid" for e in cli_entries.values()
        ]


async def test_a_huge_cell_is_shown_cut(make_app: Callable[..., WorkbenchApp], workspace: Path) -> None:
    big = "x" * (3 << 20)
    add_dataset(workspace, "huge", "huge.jsonl", [{"instruction": big, "input": "", "output": "done"}])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DatasetList)
        table.move_cursor(row=table.get_row_index("huge"))
        await settle(pilot)
        row = app.screen.query_one(RowsTable).current()
        assert row is not None and row.row["instruction"].total == len(big)  # type: ignore[union-attr]
        detail = text_of(app, "#detail-messages")
        assert f"… {len(big) - 2000:,} more characters" in detail and len(detail) < 10_000
