"""GPU readings through NVML (nvidia-ml-py's ``pynvml``), which never raise to the caller.

NVML is started once, on the first reading, and its device handles, names and UUIDs are kept. A field a device
does not report (NotSupported, NoPermission...) is None. Why there are no readings at all (no bindings, no driver,
no device, an NVML error mid-run) is a sentence returned beside the empty list; after an error NVML is shut down
and started again on a reading ``retry_s`` seconds later.
"""

from __future__ import annotations

import contextlib
import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import psutil

from .samples import GpuProcess, GpuSample

MIB = 1 << 20
FIELD_ERRORS = (
    "NOT_SUPPORTED",
    "NO_PERMISSION",
    "NOT_FOUND",
    "FUNCTION_NOT_FOUND",
    "INVALID_ARGUMENT",
    "NO_DATA",
    "DEPRECATED",
    "NOT_READY",
    "ARGUMENT_VERSION_MISMATCH",
)
"""NVML errors that mean "this device does not report this field": the field is None, the reading goes on."""
NO_DRIVER_ERRORS = ("LIBRARY_NOT_FOUND", "DRIVER_NOT_LOADED")
NO_GPU = "no NVIDIA GPU"


@dataclass
class _Device:
    handle: Any
    index: int
    name: str
    uuid: str


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _error_code(nvml: ModuleType, name: str) -> int | None:
    return getattr(nvml, f"NVML_ERROR_{name}", None)


class NvmlReader:
    """Reads every NVIDIA GPU and its compute processes; one per sampler (NVML is started once for it)."""

    def __init__(self, *, retry_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.retry_s = retry_s
        self._clock = clock
        self._nvml: ModuleType | None = None
        self._devices: list[_Device] | None = None
        self._field_codes: frozenset[int] = frozenset()
        self._error: str | None = None
        self._retry_at = 0.0
        self._names: dict[int, str] = {}

    def read(self) -> tuple[list[GpuSample], str | None]:
        """Every GPU now, or ``([], why)`` when NVML cannot tell."""
        if self._devices is None and not self._start():
            return [], self._error
        if not self._devices:
            return [], NO_GPU
        try:
            gpus = [self._read_device(device) for device in self._devices]
            self._read_processes(gpus)
        except Exception as err:
            self._shutdown()
            self._error = f"NVML error while reading the GPUs: {err or type(err).__name__} (retrying)"
            self._retry_at = self._clock() + self.retry_s
            return [], self._error
        return gpus, None

    def close(self) -> None:
        """Shut NVML down (it is started again by a later reading)."""
        self._shutdown()

    def _start(self) -> bool:
        if self._clock() < self._retry_at:
            return False
        self._retry_at = self._clock() + self.retry_s
        try:
            nvml = importlib.import_module("pynvml")
        except ImportError as err:
            self._error = f"no NVML bindings ({err}); install nvidia-ml-py"
            self._retry_at = float("inf")
            return False
        try:
            nvml.nvmlInit()
        except Exception as err:
            missing = {_error_code(nvml, name) for name in NO_DRIVER_ERRORS}
            if getattr(err, "value", None) in missing:
                self._error = f"no NVIDIA driver found (NVML: {err})"
            else:
                self._error = f"NVML could not start: {err or type(err).__name__}"
            return False
        self._nvml = nvml
        self._field_codes = frozenset(code for name in FIELD_ERRORS if (code := _error_code(nvml, name)) is not None)
        try:
            self._devices = [self._open_device(nvml, index) for index in range(nvml.nvmlDeviceGetCount())]
        except Exception as err:
            self._shutdown()
            self._error = f"NVML could not list the GPUs: {err or type(err).__name__}"
            return False
        self._error = None
        return True

    def _shutdown(self) -> None:
        nvml, self._nvml, self._devices = self._nvml, None, None
        if nvml is not None:
            with contextlib.suppress(Exception):  # NVML already gone: nothing left to release
                nvml.nvmlShutdown()

    def _open_device(self, nvml: ModuleType, index: int) -> _Device:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        name = self._field(nvml.nvmlDeviceGetName, handle)
        uuid = self._field(nvml.nvmlDeviceGetUUID, handle)
        return _Device(handle, index, _text(name) if name is not None else "", _text(uuid) if uuid is not None else "")

    def _field(self, function: Any, *args: Any) -> Any:
        """``function(*args)``, or None when the device does not report it; other NVML errors propagate."""
        try:
            return function(*args)
        except Exception as err:
            if getattr(err, "value", None) in self._field_codes:
                return None
            raise

    def _scaled(self, function: Any, *args: Any, scale: float = 1.0, attribute: str | None = None) -> float | None:
        value = self._field(function, *args)
        if value is not None and attribute is not None:
            value = getattr(value, attribute, None)
        return None if value is None else float(value) * scale

    def _read_device(self, device: _Device) -> GpuSample:
        nvml, handle = self._nvml, device.handle
        assert nvml is not None
        memory = self._field(nvml.nvmlDeviceGetMemoryInfo, handle)
        return GpuSample(
            index=device.index,
            name=device.name,
            uuid=device.uuid,
            util=self._scaled(nvml.nvmlDeviceGetUtilizationRates, handle, attribute="gpu"),
            mem_used_mb=None if memory is None else memory.used / MIB,
            mem_total_mb=None if memory is None else memory.total / MIB,
            temp_c=self._scaled(nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU),
            power_w=self._scaled(nvml.nvmlDeviceGetPowerUsage, handle, scale=1e-3),
            power_limit_w=self._scaled(nvml.nvmlDeviceGetEnforcedPowerLimit, handle, scale=1e-3),
            sm_clock_mhz=self._scaled(nvml.nvmlDeviceGetClockInfo, handle, nvml.NVML_CLOCK_SM),
            mem_clock_mhz=self._scaled(nvml.nvmlDeviceGetClockInfo, handle, nvml.NVML_CLOCK_MEM),
        )

    def _read_processes(self, gpus: list[GpuSample]) -> None:
        """Each device's compute processes (one entry per pid, memory summed over MIG instances), named by psutil."""
        nvml = self._nvml
        assert nvml is not None and self._devices is not None
        seen: set[int] = set()
        for device, gpu in zip(self._devices, gpus, strict=True):
            memory: dict[int, float | None] = {}
            for process in self._field(nvml.nvmlDeviceGetComputeRunningProcesses, device.handle) or ():
                used = getattr(process, "usedGpuMemory", None)
                mib = None if used is None else used / MIB
                previous = memory.get(process.pid)
                memory[process.pid] = mib if previous is None else previous + (mib or 0.0)
            gpu.processes = [GpuProcess(pid, self._name(pid), mib) for pid, mib in memory.items()]
            seen.update(memory)
        for pid in self._names.keys() - seen:
            del self._names[pid]

    def _name(self, pid: int) -> str:
        if pid not in self._names:
            try:
                self._names[pid] = psutil.Process(pid).name()
            except (psutil.Error, OSError):
                self._names[pid] = ""
        return self._names[pid]
