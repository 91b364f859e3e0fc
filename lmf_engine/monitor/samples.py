"""One reading of the machine: every GPU (NVML) and the host (psutil), as plain data with a fixed JSON form.

The JSON form is what ``system.jsonl`` of a run and a recorded sample file hold, one object a line::

    {"t": 1733280000.0,
     "gpus": [{"index": 0, "name": "NVIDIA H200", "uuid": "GPU-...", "util": 93.0, "mem_used_mb": 70312.0,
               "mem_total_mb": 143771.0, "temp_c": 61.0, "power_w": 512.3, "power_limit_w": 700.0,
               "sm_clock_mhz": 1980.0, "mem_clock_mhz": 3201.0,
               "processes": [{"pid": 4242, "name": "python", "mem_mb": 69000.0, "run": true}]}],
     "host": {"cpu_percent": 12.5, "cpu_count": 16, "ram_used_mb": 20480.0, "ram_total_mb": 131072.0,
              "disk_used_gb": 120.0, "disk_total_gb": 512.0, "disk_read_mb_s": 0.0, "disk_write_mb_s": 1.2,
              "net_recv_mb_s": 0.1, "net_sent_mb_s": 0.1},
     "gpu_error": null}

A field NVML or psutil cannot tell is ``null``. ``gpu_error`` says why there are no GPU readings (no driver, no
device, an NVML error mid-run); ``gpus`` is then empty and the host readings are still there.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any


def _float(value: Any) -> float | None:
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int:
        return float(value)
    return None


@dataclass
class GpuProcess:
    """A compute process on a GPU; ``run`` is True when it belongs to the watched run (its process group or
    children)."""

    pid: int
    name: str = ""
    mem_mb: float | None = None
    run: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GpuProcess:
        return cls(
            pid=int(data.get("pid") or 0),
            name=str(data.get("name") or ""),
            mem_mb=_float(data.get("mem_mb")),
            run=bool(data.get("run")),
        )


@dataclass
class GpuSample:
    """One GPU's state. Percentages are 0-100, memory in MiB, power in watts, clocks in MHz."""

    index: int
    name: str = ""
    uuid: str = ""
    util: float | None = None
    mem_used_mb: float | None = None
    mem_total_mb: float | None = None
    temp_c: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    sm_clock_mhz: float | None = None
    mem_clock_mhz: float | None = None
    processes: list[GpuProcess] = field(default_factory=list)

    @property
    def run_mem_mb(self) -> float:
        """GPU memory of the watched run's processes on this device."""
        return sum(p.mem_mb or 0.0 for p in self.processes if p.run)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GpuSample:
        numbers = {name: _float(data.get(name)) for name in GPU_NUMBERS}
        processes = [GpuProcess.from_dict(p) for p in data.get("processes") or () if isinstance(p, dict)]
        return cls(
            index=int(data.get("index") or 0),
            name=str(data.get("name") or ""),
            uuid=str(data.get("uuid") or ""),
            processes=processes,
            **numbers,
        )


@dataclass
class HostSample:
    """The host: CPU share of all cores (0-100), memory in MiB, the disk holding the workspace in GB, rates in MB/s."""

    cpu_percent: float | None = None
    cpu_count: int | None = None
    ram_used_mb: float | None = None
    ram_total_mb: float | None = None
    disk_used_gb: float | None = None
    disk_total_gb: float | None = None
    disk_read_mb_s: float | None = None
    disk_write_mb_s: float | None = None
    net_recv_mb_s: float | None = None
    net_sent_mb_s: float | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HostSample:
        values: dict[str, Any] = {name: _float(data.get(name)) for name in HOST_FIELDS}
        count = data.get("cpu_count")
        values["cpu_count"] = int(count) if isinstance(count, int) and not isinstance(count, bool) else None
        return cls(**values)


GPU_NUMBERS = tuple(
    f.name for f in dataclasses.fields(GpuSample) if f.name not in ("index", "name", "uuid", "processes")
)
HOST_FIELDS = tuple(f.name for f in dataclasses.fields(HostSample))


@dataclass
class SystemSample:
    """A reading of every GPU and the host at Unix time ``t``."""

    t: float
    gpus: list[GpuSample] = field(default_factory=list)
    host: HostSample = field(default_factory=HostSample)
    gpu_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of one ``system.jsonl`` line."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SystemSample:
        """Read a JSON object written by :meth:`to_dict` (missing or mistyped fields become None or empty)."""
        gpus = [GpuSample.from_dict(g) for g in data.get("gpus") or () if isinstance(g, dict)]
        host = data.get("host")
        error = data.get("gpu_error")
        return cls(
            t=_float(data.get("t")) or 0.0,
            gpus=gpus,
            host=HostSample.from_dict(host if isinstance(host, dict) else {}),
            gpu_error=str(error) if error else None,
        )
