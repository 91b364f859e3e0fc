"""``lmf-engine monitor``: the GPU and host panel, live on a terminal, one panel per sample otherwise."""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .output import console, fail

if TYPE_CHECKING:
    from rich.console import Console

    from lmf_engine.monitor.recorder import SampleWriter
    from lmf_engine.monitor.sampler import Sampler
    from lmf_engine.monitor.samples import SystemSample


def _open(interval: float, replay: Path | None) -> "Sampler":
    from lmf_engine.monitor.sampler import Sampler, open_sampler
    from lmf_engine.monitor.sources import ReplayError, ReplaySource

    try:
        if replay is not None:
            return Sampler(ReplaySource(replay), interval=interval)
        return open_sampler(interval=interval, disk_path=Path.cwd())
    except ReplayError as err:
        fail(str(err))


def _watch_run(sampler: "Sampler", name: str, root: Path | None) -> str:
    """Mark the run's processes; returns the run's name."""
    from lmf_engine.runs.record import RunRecordError
    from lmf_engine.runs.store import RunNotFoundError, find_run

    try:
        info = find_run(name, root)
    except (RunNotFoundError, RunRecordError) as err:
        fail(str(err))
    record = info.record
    if record is None:
        fail(f"{info.path} is a LLaMA-Factory output folder without run.json: its processes are not known")
    if record.pgid is None and record.pid is None:
        fail(f"run {info.name!r} has no process yet (state {record.state}); try again when it runs")
    if not record.active:
        typer.echo(f"run {info.name} is {record.state}: none of its processes should be on a GPU", err=True)
    sampler.watch(pgid=record.pgid, pid=record.pid)
    return info.name


def _samples(
    sampler: "Sampler", interval: float, count: int | None, writer: "SampleWriter | None"
) -> Iterator["SystemSample"]:
    """``count`` samples (endless without), ``interval`` seconds apart, each appended to ``writer`` too."""
    taken = 0
    due = time.monotonic()
    while count is None or taken < count:
        time.sleep(max(0.0, due - time.monotonic()))
        sample = sampler.sample_now()
        if writer is not None:
            try:
                writer.write(sample)
            except OSError as err:
                fail(f"{writer.path}: cannot write samples there ({err.strerror or err})")
        yield sample
        taken += 1
        due = max(due + interval, time.monotonic())


def _title(sample: "SystemSample", run: str | None) -> str:
    clock = time.strftime("%H:%M:%S", time.localtime(sample.t))
    return f"lmf-engine monitor  {clock}" + (f"  run {run} ▶" if run else "")


def _show(samples: Iterator["SystemSample"], out: "Console", run: str | None) -> None:
    from rich.live import Live

    from lmf_engine.monitor.panel import render_panel

    if not out.is_terminal:
        for sample in samples:
            out.print(render_panel(sample, title=_title(sample, run)))
        return
    with Live(render_panel(None), console=out, auto_refresh=False) as live:
        for sample in samples:
            live.update(render_panel(sample, title=_title(sample, run)), refresh=True)


def monitor(
    interval: Annotated[float, typer.Option("--interval", help="Seconds between samples.", min=0.01)] = 1.0,
    count: Annotated[int | None, typer.Option("--count", "-n", help="Show N samples, then exit.", min=1)] = None,
    record: Annotated[
        Path | None, typer.Option("--record", help="Also append every sample to FILE (JSON Lines).")
    ] = None,
    replay: Annotated[
        Path | None, typer.Option("--replay", help="Show the samples recorded in FILE (looping) instead.")
    ] = None,
    run: Annotated[
        str | None, typer.Option("--run", help="Mark this run's GPU processes (a run name under --root, or a path).")
    ] = None,
    root: Annotated[Path | None, typer.Option("--root", help="Folder that holds the runs (default: ./runs).")] = None,
) -> None:
    """GPUs and host: utilisation, memory, temperature, power, clocks and processes per GPU; CPU, RAM, disk, network.

    On a terminal the panel updates in place until Ctrl-C or --count samples; otherwise each sample prints a panel.
    Without an NVIDIA driver the panel says so and shows the host.
    """
    from lmf_engine.monitor.recorder import SampleWriter

    sampler = _open(interval, replay)
    writer = None
    try:
        run_name = _watch_run(sampler, run, root) if run else None
        if record is not None:
            try:
                writer = SampleWriter(record)
            except OSError as err:
                fail(f"{record}: cannot write samples there ({err.strerror or err})")
        _show(_samples(sampler, interval, count, writer), console(), run_name)
    except KeyboardInterrupt:
        pass
    finally:
        sampler.close()
        if writer is not None:
            writer.close()
