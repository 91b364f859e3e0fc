"""``lmf-engine data list|preview|stats|encode``: datasets as files, and a config's data as the trainer gets it.

``list`` and ``preview`` read files lazily and never import torch; ``stats`` and ``encode`` run the config's
tokenizer and template. Relative paths (``--dir``, a config's dataset_dir and model) resolve against the current
directory, as LLaMA-Factory resolves them.
"""

import sys
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lmf_engine.data.preview import PREVIEW_CHARS

from . import data_render as render
from .output import OverridesArg, fail, print_json, user_errors

if TYPE_CHECKING:
    from lmf_engine.config import Config

app = typer.Typer(
    help="Browse datasets (list, preview) and see a config's data as the trainer gets it (stats, encode).",
    no_args_is_help=True,
)

DirOpt = Annotated[str, typer.Option("--dir", help="Folder holding dataset_info.json (a config's dataset_dir).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]
ConfigArg = Annotated[Path, typer.Argument(help="YAML or JSON config file.", show_default=False)]


class Split(StrEnum):
    train = "train"
    eval = "eval"


@app.command("list")
def list_datasets(
    dataset_dir: DirOpt = "data",
    count: Annotated[bool, typer.Option("--count", help="Count rows of text formats too (reads them).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Every dataset of dataset_info.json: formatting, kind, file, size, rows, and what is wrong with bad entries.

    Rows are shown when cheap to know (Parquet and Arrow metadata) or with --count.
    """
    from .data_files import list_entries

    with user_errors():
        entries = list_entries(dataset_dir, count)
    if as_json:
        print_json([entry.to_dict() for entry in entries])
        return
    render.entries_table(entries, dataset_dir)


def _parse_search(value: str) -> tuple[str | None, str]:
    column, sep, text = value.partition("=")
    if not sep or not text:
        fail(f"--search {value!r}: expected COLUMN=TEXT (or =TEXT to search every column)")
    return column or None, text


@app.command()
def preview(
    name: Annotated[str, typer.Argument(help="Dataset name from dataset_info.json.", show_default=False)],
    dataset_dir: DirOpt = "data",
    media_dir: Annotated[
        str | None,
        typer.Option("--media-dir", help="Where relative image/video/audio paths start (default: the dataset dir)."),
    ] = None,
    start: Annotated[int, typer.Option("--start", min=1, help="First row to show, counting from 1.")] = 1,
    rows: Annotated[int, typer.Option("--rows", min=1, help="How many rows to show.")] = 10,
    search: Annotated[
        str | None, typer.Option("--search", help="Only rows whose COLUMN contains TEXT: COLUMN=TEXT.")
    ] = None,
    canonical: Annotated[
        bool, typer.Option("--canonical", help="Show the messages the converter makes of each row.")
    ] = False,
    max_chars: Annotated[
        int,
        typer.Option(
            "--max-chars",
            min=0,
            help="Cut each text after this many characters ('… N more characters'); 0 shows texts whole.",
        ),
    ] = PREVIEW_CHARS,
    as_json: JsonOpt = False,
) -> None:
    """A page of a dataset's raw rows (or, with --canonical, their canonical messages), without reading it whole.

    Texts longer than --max-chars are cut, and a row's ``cut`` (in --json) gives the full length of each cut
    field; a row of over 1 MiB is then read without ever decoding it whole, so a page costs bounded memory.
    """
    from lmf_engine.data.cut_text import cut_lengths
    from lmf_engine.data.listing import KIND_STAGE, dataset_kind
    from lmf_engine.data.registry import read_dataset_info
    from lmf_engine.data.rows import check_columns, check_spec_for_stage

    from .data_files import DatasetRows, canonical_row

    column, text = _parse_search(search) if search is not None else (None, None)
    with user_errors():
        spec = read_dataset_info(dataset_dir).spec(name)
        data = DatasetRows(spec, dataset_dir)
        if canonical:
            check_spec_for_stage(spec, KIND_STAGE[dataset_kind(spec)])
            check_columns(spec, data.sources[0].columns(), str(data.files[0]))
        keep = max_chars or None
        page = data.search(text, column, start, rows, keep) if text is not None else data.page(start, rows, keep)
        if not page and text is None:
            data.check_page(start)
        shown: list[dict[str, Any]] = (
            [canonical_row(spec, row, media_dir or dataset_dir) for row in page]
            if canonical
            else [{"row": row.row, "file": row.file, "values": row.values} for row in page]
        )
        for item, row in zip(shown, page, strict=True):
            if cut := cut_lengths(row.values):
                item["cut"] = cut
    if as_json:
        files = [str(f) for f in data.files]
        print_json({"dataset": name, "files": files, "start": start, "search": search, "rows": shown})
        return
    render.preview_rows(shown, canonical, start, search)


def _config(file: Path, overrides: list[str] | None) -> "Config":
    """The config with its template checked.

    ``datasets`` shows progress bars only on a terminal (not in logs) and keeps its error logs to itself: the
    pipeline turns every reading error into one message that says more (file, line, column).
    """
    from lmf_engine.config import load_config

    from .data_tokens import check_template

    config = load_config(file, overrides or [])
    check_template(config)
    from datasets.utils import logging as datasets_logging

    datasets_logging.set_verbosity(datasets_logging.CRITICAL)
    if not sys.stderr.isatty():
        datasets_logging.disable_progress_bar()
    return config


@app.command()
def stats(
    config_file: ConfigArg,
    overrides: OverridesArg = None,
    bins: Annotated[int, typer.Option("--bins", min=1, help="Histogram bars.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Token lengths of the config's training data through its template and tokenizer: percentiles, histogram,
    and how many examples cutoff_len truncates."""
    from lmf_engine.data.errors import DataError
    from lmf_engine.data.loading import load_data
    from lmf_engine.data.pipeline import encode_options, encoder_stage, is_streaming, template_for
    from lmf_engine.data.stats import length_stats
    from lmf_engine.model.tokenizer import load_tokenizer

    from .data_tokens import BATCH, example_lengths

    with user_errors(config_file):
        config = _config(config_file, overrides)
        if not config.data.dataset:
            raise DataError("the config names no training data: set `dataset`")
        tokenizer = load_tokenizer(config)
        template = template_for(config, tokenizer)
        loaded = load_data(config, on_bad_row=config.data.on_bad_row)
        options = encode_options(config, template)
        stage = encoder_stage(config.finetuning.stage)
        lengths = example_lengths(loaded.train, stage, template, tokenizer, options)
        total = None if is_streaming(loaded.train) else len(loaded.train)
        with render.progress_bar("measuring", total) as advance:
            result = length_stats(lengths, options.effective_cutoff, bins=bins, progress=advance, every=BATCH)
    info = {
        "dataset": config.data.dataset,
        "stage": config.finetuning.stage,
        "template": template.name,
        "packing": options.packs(stage),
        "skipped_bad_rows": loaded.bad_rows.count,
    }
    if as_json:
        print_json({**info, **render.stats_dict(result)})
        return
    render.stats_report(result, info)


@app.command("encode")
def encode_data(
    config_file: ConfigArg,
    out: Annotated[Path, typer.Option("--out", help="JSON Lines file to write.", show_default=False)],
    overrides: OverridesArg = None,
    split: Annotated[Split, typer.Option("--split", help="train, or eval for the validation data.")] = Split.train,
    as_json: JsonOpt = False,
) -> None:
    """Run the config's data pipeline and write each encoded example as one JSON object per line.

    Fields are those the trainer receives (input_ids, attention_mask, labels; chosen_*/rejected_*; kl_* and
    kto_tags), in dataset order. With several evaluation datasets (eval_on_each_dataset) each row also names its
    eval_dataset. The file is replaced only when complete.
    """
    from lmf_engine.data.errors import DataError
    from lmf_engine.data.pipeline import prepare_data

    from .data_tokens import write_jsonl

    with user_errors(config_file):
        config = _config(config_file, overrides)
        prepared = prepare_data(config, do_generate=bool(config.get("predict_with_generate")))
        data = prepared.train if split is Split.train else prepared.eval
        if data is None:
            what = (
                "training data (`dataset`)" if split is Split.train else "validation data (val_size or eval_dataset)"
            )
            raise DataError(f"the config has no {what}")
        parts = list(data.items()) if isinstance(data, dict) else [(None, data)]
        with render.progress_bar("writing", None) as advance:
            summary = write_jsonl(parts, out, advance)
    result = {
        "split": split.value,
        **asdict(summary),
        "skipped_bad_rows": prepared.bad_rows.count,
        "from_cache": prepared.from_cache,
        "cache": str(prepared.cache) if prepared.cache else None,
    }
    if as_json:
        print_json(result)
        return
    render.encode_report(result, str(prepared.bad_rows) if prepared.bad_rows.count else None)
