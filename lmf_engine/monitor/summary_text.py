"""A run's system summary as labelled text rows (``lmf-engine runs show``)."""

from datetime import timedelta

from .summary import SystemSummary
from .units import figure, gib, percent, used_of


def summary_rows(summary: SystemSummary) -> list[tuple[str, str]]:
    """``(label, text)`` rows: the samples' span, each GPU's peak memory (and the run's own) and mean utilisation,
    peak RAM and mean CPU; none without samples."""
    if not summary.samples:
        return []
    span = timedelta(seconds=int((summary.last_t or 0.0) - (summary.first_t or 0.0)))
    noun = "sample" if summary.samples == 1 else "samples"
    rows = [("system", f"{summary.samples} {noun} over {span}")]
    if summary.gpu_error and not summary.devices:
        rows.append(("GPUs", summary.gpu_error))
    for device in summary.devices:
        parts = [
            device.name or f"GPU {device.index}",
            f"peak memory {used_of(device.peak_mem_mb, device.mem_total_mb)}",
        ]
        if device.peak_run_mem_mb is not None:
            parts.append(f"the run's peak {gib(device.peak_run_mem_mb)}")
        parts.append(f"mean util {percent(device.mean_util)}")
        if device.max_temp_c is not None:
            parts.append(f"max {figure(device.max_temp_c, '°C')}")
        rows.append((f"GPU {device.index}", ", ".join(parts)))
    rows += [("peak host RAM", gib(summary.peak_ram_mb)), ("mean host CPU", percent(summary.mean_cpu_percent))]
    return rows
