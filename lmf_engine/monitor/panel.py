"""The system panel as a rich renderable: a block per GPU, then the host. ``lmf-engine monitor`` prints it and the
workbench shows it in a themed widget, so it uses no colour, only bold, dim and reverse.

Per GPU: its name, a utilisation and a memory bar, temperature, power and clocks, then its compute processes, the
watched run's first, marked ``▶`` and bold. Without GPU readings one line says why; the host block is always there.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .samples import GpuProcess, GpuSample, HostSample, SystemSample
from .units import NA, figure, gib, percent, rate, used_of

BAR_WIDTH = 20
RUN_MARK = "▶"
MAX_PROCESSES = 6
"""Processes listed per GPU; the rest are counted on one line."""


def bar(fraction: float | None, width: int = BAR_WIDTH) -> Text:
    """``█`` for the used share, dim ``░`` for the rest; all dim when unknown."""
    if fraction is None:
        return Text("░" * width, style="dim")
    filled = round(min(max(fraction, 0.0), 1.0) * width)
    return Text.assemble("█" * filled, ("░" * (width - filled), "dim"))


def _share(used: float | None, total: float | None) -> float | None:
    return used / total if used is not None and total else None


def _meter(label: str, fraction: float | None, text: str) -> Text:
    """``  util ███░░ 97%`` (the figure wraps on a narrow panel, the bar stays whole)."""
    return Text.assemble(f"  {label:<4} ", bar(fraction), f" {text}")


def _heading(label: str, detail: str) -> Text:
    return Text.assemble((label, "bold"), "  ", detail)


def _power(gpu: GpuSample) -> str:
    if gpu.power_w is None or gpu.power_limit_w is None:
        return figure(gpu.power_w, "W")
    return f"{gpu.power_w:.0f}/{gpu.power_limit_w:.0f} W"


def _processes(processes: list[GpuProcess]) -> RenderableType | None:
    if not processes:
        return None
    ordered = sorted(processes, key=lambda p: (not p.run, -(p.mem_mb or 0.0), p.pid))
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column(overflow="ellipsis", no_wrap=True, max_width=24)
    grid.add_column(justify="right", no_wrap=True)
    for process in ordered[:MAX_PROCESSES]:
        style = "bold" if process.run else ""
        mark = RUN_MARK if process.run else " "
        grid.add_row(Text(f"  {mark}", style), Text(str(process.pid), style), Text(process.name or "?", style),
                     Text(gib(process.mem_mb), style))  # fmt: skip
    hidden = len(ordered) - MAX_PROCESSES
    if hidden > 0:
        grid.add_row("", "", Text(f"and {hidden} more", style="dim"), "")
    return grid


def gpu_block(gpu: GpuSample) -> Group:
    """One GPU: heading, utilisation and memory bars, temperature/power/clocks, processes."""
    run = f", run {gib(gpu.run_mem_mb)}" if any(p.run for p in gpu.processes) else ""
    clocks = f"SM {figure(gpu.sm_clock_mhz, 'MHz')}  mem {figure(gpu.mem_clock_mhz, 'MHz')}"
    parts: list[RenderableType] = [
        _heading(f"GPU {gpu.index}", gpu.name or NA),
        _meter("util", None if gpu.util is None else gpu.util / 100, percent(gpu.util)),
        _meter("mem", _share(gpu.mem_used_mb, gpu.mem_total_mb), used_of(gpu.mem_used_mb, gpu.mem_total_mb) + run),
        Text(f"  {figure(gpu.temp_c, '°C')}  {_power(gpu)}  {clocks}"),
    ]
    processes = _processes(gpu.processes)
    if processes is not None:
        parts.append(processes)
    return Group(*parts)


def host_block(host: HostSample) -> Group:
    """CPU, RAM and disk bars, disk and network rates."""
    cores = f"{host.cpu_count} cores" if host.cpu_count else ""
    disk = NA
    if host.disk_used_gb is not None and host.disk_total_gb is not None:
        disk = f"{host.disk_used_gb:.0f}/{host.disk_total_gb:.0f} GiB"
    return Group(
        _heading("Host", cores),
        _meter("cpu", None if host.cpu_percent is None else host.cpu_percent / 100, percent(host.cpu_percent)),
        _meter("ram", _share(host.ram_used_mb, host.ram_total_mb), used_of(host.ram_used_mb, host.ram_total_mb)),
        _meter("disk", _share(host.disk_used_gb, host.disk_total_gb), disk),
        Text(f"  disk read {rate(host.disk_read_mb_s)}  write {rate(host.disk_write_mb_s)} MiB/s"),
        Text(f"  net  in {rate(host.net_recv_mb_s)}  out {rate(host.net_sent_mb_s)} MiB/s"),
    )


def render_panel(sample: SystemSample | None, *, title: str | None = None) -> RenderableType:
    """The whole panel for ``sample`` (a waiting line for None), framed with ``title`` when one is given."""
    if sample is None:
        body: RenderableType = Text("waiting for the first sample…", style="dim")
    else:
        blocks: list[RenderableType] = []
        if sample.gpu_error:
            blocks.append(Text.assemble(("GPU", "bold"), "  ", sample.gpu_error))
        blocks += [gpu_block(gpu) for gpu in sample.gpus]
        blocks.append(host_block(sample.host))
        body = Group(*blocks)
    return Panel(body, title=title, title_align="left", expand=False) if title else body
