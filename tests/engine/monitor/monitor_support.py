"""What the monitor tests share: a fake ``pynvml`` module whose devices, processes and errors the test sets, and
recorded sample files."""

import json
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MIB = 1 << 20
ERRORS = {
    "UNINITIALIZED": (1, "Uninitialized"),
    "INVALID_ARGUMENT": (2, "Invalid Argument"),
    "NOT_SUPPORTED": (3, "Not Supported"),
    "NO_PERMISSION": (4, "Insufficient Permissions"),
    "NOT_FOUND": (6, "Not Found"),
    "DRIVER_NOT_LOADED": (9, "Driver Not Loaded"),
    "LIBRARY_NOT_FOUND": (12, "NVML Shared Library Not Found"),
    "FUNCTION_NOT_FOUND": (13, "Function Not Found"),
    "GPU_IS_LOST": (15, "GPU is lost"),
    "UNKNOWN": (999, "Unknown Error"),
}


class FakeNVMLError(Exception):
    """pynvml's NVMLError: an error code in ``value``, its text as ``str()``."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return next(text for code, text in ERRORS.values() if code == self.value)


@dataclass
class FakeDevice:
    """One GPU as the fake reports it; memory in bytes, power in milliwatts, as NVML gives them."""

    name: str = "NVIDIA H200"
    uuid: str = "GPU-0000"
    util: int = 97
    mem_used: int = 70_312 * MIB
    mem_total: int = 143_771 * MIB
    temp: int = 61
    power_mw: int = 512_300
    limit_mw: int = 700_000
    sm_clock: int = 1980
    mem_clock: int = 3201
    processes: list[tuple[int, int | None]] = field(default_factory=list)
    """(pid, usedGpuMemory in bytes or None)."""


class FakeNvml:
    """What the fake ``pynvml`` module reads: ``devices``; ``unsupported`` function names raise NotSupported;
    ``init_error`` / ``fault`` (an error name) make nvmlInit / every device reading raise."""

    def __init__(self) -> None:
        self.devices: list[FakeDevice] = []
        self.unsupported: set[str] = set()
        self.init_error: str | None = None
        self.fault: str | None = None
        self.init_calls = 0
        self.shutdown_calls = 0
        self.module = self._module()

    def _raise(self, name: str) -> None:
        raise FakeNVMLError(ERRORS[name][0])

    def _device_call(self, function: str, handle: int) -> FakeDevice:
        if self.fault:
            self._raise(self.fault)
        if function in self.unsupported:
            self._raise("NOT_SUPPORTED")
        return self.devices[handle]

    def _module(self) -> types.ModuleType:
        module = types.ModuleType("pynvml")
        module.NVMLError = FakeNVMLError
        for name, (code, _) in ERRORS.items():
            setattr(module, f"NVML_ERROR_{name}", code)
        module.NVML_TEMPERATURE_GPU, module.NVML_CLOCK_SM, module.NVML_CLOCK_MEM = 0, 1, 2

        def init() -> None:
            self.init_calls += 1
            if self.init_error:
                self._raise(self.init_error)

        def shutdown() -> None:
            self.shutdown_calls += 1

        def reading(function: str, read: Callable[[FakeDevice], Any]) -> Callable[..., Any]:
            return lambda handle, *args: read(self._device_call(function, handle), *args)

        def clock(device: FakeDevice, kind: int) -> int:
            return device.sm_clock if kind == module.NVML_CLOCK_SM else device.mem_clock

        calls: dict[str, Callable[..., Any]] = {
            "nvmlInit": init,
            "nvmlShutdown": shutdown,
            "nvmlDeviceGetCount": lambda: len(self.devices),
            "nvmlDeviceGetHandleByIndex": lambda index: index,
            "nvmlDeviceGetName": reading("nvmlDeviceGetName", lambda d: d.name),
            "nvmlDeviceGetUUID": reading("nvmlDeviceGetUUID", lambda d: d.uuid),
            "nvmlDeviceGetUtilizationRates": reading(
                "nvmlDeviceGetUtilizationRates", lambda d: types.SimpleNamespace(gpu=d.util, memory=0)
            ),
            "nvmlDeviceGetMemoryInfo": reading(
                "nvmlDeviceGetMemoryInfo",
                lambda d: types.SimpleNamespace(used=d.mem_used, total=d.mem_total, free=d.mem_total - d.mem_used),
            ),
            "nvmlDeviceGetTemperature": reading("nvmlDeviceGetTemperature", lambda d, _sensor: d.temp),
            "nvmlDeviceGetPowerUsage": reading("nvmlDeviceGetPowerUsage", lambda d: d.power_mw),
            "nvmlDeviceGetEnforcedPowerLimit": reading("nvmlDeviceGetEnforcedPowerLimit", lambda d: d.limit_mw),
            "nvmlDeviceGetClockInfo": reading("nvmlDeviceGetClockInfo", clock),
            "nvmlDeviceGetComputeRunningProcesses": reading(
                "nvmlDeviceGetComputeRunningProcesses",
                lambda d: [types.SimpleNamespace(pid=pid, usedGpuMemory=used) for pid, used in d.processes],
            ),
        }
        for name, function in calls.items():
            setattr(module, name, function)
        return module


def write_samples(path: Path, samples: list[dict[str, Any]]) -> Path:
    """A recorded sample file: one JSON object a line."""
    path.write_text("".join(json.dumps(sample) + "\n" for sample in samples), encoding="utf-8")
    return path


def gpu_dict(index: int, util: float, mem_used_mb: float, processes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "index": index, "name": "NVIDIA H200", "uuid": f"GPU-{index}", "util": util, "mem_used_mb": mem_used_mb,
        "mem_total_mb": 143771.0, "temp_c": 60.0 + index, "power_w": 500.0, "power_limit_w": 700.0,
        "sm_clock_mhz": 1980.0, "mem_clock_mhz": 3201.0, "processes": processes,
    }  # fmt: skip


def sample_dict(t: float, util: float, mem_used_mb: float, cpu: float, ram_mb: float) -> dict[str, Any]:
    """A sample with GPU 0 (the run's process 4242 using all but 1 GiB) and an idle GPU 1 holding process 5151."""
    run = {"pid": 4242, "name": "python", "mem_mb": mem_used_mb - 1024.0, "run": True}
    other = {"pid": 5151, "name": "vllm", "mem_mb": 900.0, "run": False}
    return {
        "t": t,
        "gpus": [gpu_dict(0, util, mem_used_mb, [run]), gpu_dict(1, 0.0, 1024.0, [other])],
        "host": {
            "cpu_percent": cpu, "cpu_count": 16, "ram_used_mb": ram_mb, "ram_total_mb": 131072.0,
            "disk_used_gb": 120.0, "disk_total_gb": 512.0, "disk_read_mb_s": 0.0, "disk_write_mb_s": 1.5,
            "net_recv_mb_s": 0.25, "net_sent_mb_s": 0.5,
        },
        "gpu_error": None,
    }  # fmt: skip
