"""How ``lmf-engine data`` shows its results on a terminal: tables, rows, histograms and a progress bar.

User text is always passed to rich as plain :class:`~rich.text.Text`, so brackets in data are never read as markup.
"""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from .output import console, human_size

if TYPE_CHECKING:
    from lmf_engine.data.stats import LengthStats

    from .data_files import EntryInfo

BAR_WIDTH = 40


def entries_table(entries: "list[EntryInfo]", dataset_dir: str) -> None:
    """The ``data list`` table, then each bad entry's problem."""
    from rich.table import Table
    from rich.text import Text

    out = console()
    table = Table(title=f"{dataset_dir}/dataset_info.json", title_justify="left")
    for header, justify in (("name", "left"), ("formatting", "left"), ("kind", "left"), ("file", "left"),
                            ("size", "right"), ("rows", "right"), ("ok", "center")):  # fmt: skip
        table.add_column(header, justify=justify, overflow="fold", no_wrap=header in ("name", "ok"))  # type: ignore[arg-type]
    for e in entries:
        rows = f"{e.rows:,}" if e.rows is not None else ""
        ok = Text("problem", style="red") if e.problem else Text("yes", style="green")
        cells = [e.name, e.formatting or "", e.kind or "", e.source or "", human_size(e.size), rows]
        table.add_row(*(Text(c) for c in cells), ok)
    out.print(table)
    bad = [e for e in entries if e.problem]
    for e in bad:
        out.print(Text(f"{e.name}: {e.problem}", style="red"))
    summary = f"{len(entries)} dataset(s)" + (f", {len(bad)} with problems" if bad else "")
    out.print(Text(summary))


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _field(label: str, value: str, style: str = "bold") -> Any:
    from rich.text import Text

    text = Text("  ")
    text.append(f"{label}: ", style=style)
    text.append(value.replace("\n", "\n    "))
    return text


def preview_rows(rows: list[dict[str, Any]], canonical: bool, start: int, search: str | None) -> None:
    """Each row under a ``row N  file`` header: raw fields, or the canonical messages and why a row is bad."""
    from rich.text import Text

    out = console()
    if not rows:
        out.print(Text(f"no row matches {search!r} from row {start}"))
        return
    bad = 0
    for row in rows:
        out.print(Text(f"row {row['row']}  {row['file']}", style="bold cyan"))
        if not canonical:
            for key, value in row["values"].items():
                out.print(_field(key, _value_text(value)))
            continue
        if "error" in row:
            bad += 1
            out.print(_field("cannot be used", row["error"], "bold red"))
            continue
        for key in ("system", "tools"):
            if row[key]:
                out.print(_field(key, row[key], "magenta"))
        for message in row["messages"]:
            out.print(_field(message["role"], message["content"]))
        labels = ["chosen", "rejected"] if len(row["response"]) == 2 else ["response"]
        for label, message in zip(labels, row["response"], strict=False):
            out.print(_field(f"{label} ({message['role']})", message["content"], "bold green"))
        if "kto_tag" in row:
            out.print(_field("kto_tag", json.dumps(row["kto_tag"]), "magenta"))
    if bad:
        out.print(Text(f"{bad} of {len(rows)} rows cannot be used", style="red"))


@contextmanager
def progress_bar(what: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr; yields ``advance(n_done)``. Drawn only on a terminal, removed at the end."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    err = console(stderr=True)
    if not err.is_terminal:
        yield lambda done: None
        return
    columns = (TextColumn(what), BarColumn(), MofNCompleteColumn(), TextColumn("rows"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(what, total=total)
        yield lambda done: progress.update(task, completed=done)


def stats_dict(stats: "LengthStats") -> dict[str, Any]:
    """The statistics as JSON-able data."""
    data = asdict(stats)
    data["truncated_share"] = stats.truncated_share
    data["percentiles"] = {f"p{p}": v for p, v in stats.percentiles.items()}
    data["bins"] = [{"low": low, "high": high, "count": count} for low, high, count in stats.bins]
    return data


def stats_report(stats: "LengthStats", info: dict[str, Any]) -> None:
    """Summary table and a text histogram."""
    from rich.table import Table
    from rich.text import Text

    out = console()
    out.print(Text(f"{info['dataset']}: stage {info['stage']}, template {info['template']}", style="bold"))
    if not stats.count:
        out.print(Text("no examples"))
        return
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(justify="right")
    cut = "longer than cutoff_len (split across packed blocks)" if info["packing"] else "truncated at cutoff_len"
    for label, value in (
        ("examples", f"{stats.count:,}"),
        ("min / mean / max", f"{stats.min:,} / {stats.mean:,.1f} / {stats.max:,}"),
        *((f"p{p}", f"{v:,}") for p, v in stats.percentiles.items()),
        ("cutoff_len", f"{stats.cutoff_len:,}" if stats.cutoff_len is not None else "none"),
        (cut, f"{stats.truncated:,} ({stats.truncated_share:.1%})"),
        ("skipped bad rows", f"{info['skipped_bad_rows']:,}"),
    ):
        table.add_row(label, value)
    out.print(table)
    peak = max(count for _, _, count in stats.bins)
    width = len(f"{stats.bins[-1][1] - 1:,}")
    for low, high, count in stats.bins:
        bar = "█" * round(BAR_WIDTH * count / peak) if peak else ""
        over = stats.cutoff_len is not None and high - 1 > stats.cutoff_len
        label = Text(f"{low:>{width},}–{high - 1:<{width},} ")
        label.append(bar, style="red" if over else "green")
        label.append(f" {count:,}")
        out.print(label)


def encode_report(result: dict[str, Any], bad_rows: str | None) -> None:
    """What ``data encode`` wrote and where the encoded data came from."""
    from rich.text import Text

    out = console()
    out.print(
        Text(f"wrote {result['rows']:,} {result['split']} rows ({result['tokens']:,} tokens) to {result['out']}")
    )
    out.print(Text(f"fields: {', '.join(result['columns'])}"))
    for name, count in result["per_dataset"].items():
        out.print(Text(f"  {name}: {count:,} rows"))
    out.print(Text(f"skipped bad rows: {result['skipped_bad_rows']:,}"))
    if bad_rows:
        out.print(Text(bad_rows, style="yellow"))
    if result["from_cache"]:
        out.print(Text(f"cache: used (read from {result['cache']})"))
    elif result["cache"]:
        out.print(Text(f"cache: not used (encoded now, saved to {result['cache']})"))
    else:
        out.print(Text("cache: not used"))
