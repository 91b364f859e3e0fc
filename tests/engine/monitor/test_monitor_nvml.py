"""The NVML path with a fake ``pynvml``: readings, fields a device does not report, errors mid-run, no driver."""

import os
import sys

import psutil
import pytest
from monitor_support import MIB, FakeDevice, FakeNvml

from lmf_engine.monitor.nvml import NvmlReader
from lmf_engine.monitor.sampler import Sampler
from lmf_engine.monitor.sources import LiveSource

DEAD_PID = 2**31 - 1


def test_every_field_of_every_device(fake_nvml: FakeNvml) -> None:
    fake_nvml.devices[0].processes = [(os.getpid(), 2048 * MIB), (DEAD_PID, None)]
    fake_nvml.devices.append(FakeDevice(name="NVIDIA A100", uuid="GPU-1111", util=5, processes=[]))
    gpus, error = NvmlReader().read()
    assert error is None
    first, second = gpus
    assert (first.index, first.name, first.uuid, first.util) == (0, "NVIDIA H200", "GPU-0000", 97.0)
    assert (first.mem_used_mb, first.mem_total_mb, first.temp_c) == (70312.0, 143771.0, 61.0)
    assert first.power_w == pytest.approx(512.3) and first.power_limit_w == 700.0
    assert (first.sm_clock_mhz, first.mem_clock_mhz) == (1980.0, 3201.0)
    ours, gone = first.processes
    assert (ours.pid, ours.mem_mb, ours.run) == (os.getpid(), 2048.0, False)
    assert ours.name == psutil.Process().name()
    assert (gone.pid, gone.name, gone.mem_mb) == (DEAD_PID, "", None)
    assert (second.index, second.name, second.util, second.processes) == (1, "NVIDIA A100", 5.0, [])


def test_fields_a_device_does_not_report_are_none(fake_nvml: FakeNvml) -> None:
    fake_nvml.unsupported = {
        "nvmlDeviceGetPowerUsage",
        "nvmlDeviceGetEnforcedPowerLimit",
        "nvmlDeviceGetTemperature",
        "nvmlDeviceGetClockInfo",
        "nvmlDeviceGetComputeRunningProcesses",
        "nvmlDeviceGetUUID",
    }
    (gpu,), error = NvmlReader().read()
    assert error is None
    assert (gpu.util, gpu.mem_used_mb, gpu.name, gpu.uuid) == (97.0, 70312.0, "NVIDIA H200", "")
    assert [gpu.power_w, gpu.power_limit_w, gpu.temp_c, gpu.sm_clock_mhz, gpu.mem_clock_mhz] == [None] * 5
    assert gpu.processes == []


def test_an_error_mid_run_is_reported_then_nvml_starts_again(fake_nvml: FakeNvml) -> None:
    now = [100.0]
    reader = NvmlReader(retry_s=10.0, clock=lambda: now[0])
    assert reader.read()[1] is None
    fake_nvml.fault = "GPU_IS_LOST"
    gpus, error = reader.read()
    assert gpus == [] and error == "NVML error while reading the GPUs: GPU is lost (retrying)"
    assert fake_nvml.shutdown_calls == 1
    fake_nvml.fault = None
    now[0] += 9.0
    assert reader.read() == ([], error), "no new start before retry_s"
    assert fake_nvml.init_calls == 1
    now[0] += 1.0
    gpus, error = reader.read()
    assert error is None and [g.util for g in gpus] == [97.0]
    assert fake_nvml.init_calls == 2


def test_nvml_starts_once_for_many_readings(fake_nvml: FakeNvml) -> None:
    reader = NvmlReader()
    for _ in range(5):
        reader.read()
    reader.close()
    assert (fake_nvml.init_calls, fake_nvml.shutdown_calls) == (1, 1)


@pytest.mark.parametrize(
    ("init_error", "expected"),
    [
        ("LIBRARY_NOT_FOUND", "no NVIDIA driver found (NVML: NVML Shared Library Not Found)"),
        ("DRIVER_NOT_LOADED", "no NVIDIA driver found (NVML: Driver Not Loaded)"),
        ("UNKNOWN", "NVML could not start: Unknown Error"),
    ],
)
def test_no_driver(fake_nvml: FakeNvml, init_error: str, expected: str) -> None:
    fake_nvml.init_error = init_error
    reader = NvmlReader(retry_s=3600)
    assert reader.read() == ([], expected)
    assert reader.read() == ([], expected)
    assert fake_nvml.init_calls == 1, "a failed start is retried after retry_s, not at every reading"


def test_no_device(fake_nvml: FakeNvml) -> None:
    fake_nvml.devices.clear()
    assert NvmlReader().read() == ([], "no NVIDIA GPU")


def test_no_bindings_keeps_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    sample = LiveSource().read()
    assert sample.gpus == [] and sample.gpu_error is not None
    assert sample.gpu_error.startswith("no NVML bindings (") and "install nvidia-ml-py" in sample.gpu_error
    assert sample.host.ram_total_mb and sample.host.cpu_count


def test_the_sampler_never_raises_on_nvml_errors(fake_nvml: FakeNvml) -> None:
    sampler = Sampler(LiveSource(), interval=1.0)
    assert [gpu.name for gpu in sampler.sample_now().gpus] == ["NVIDIA H200"]
    fake_nvml.fault = "UNKNOWN"
    sample = sampler.sample_now()
    assert sample.gpus == [] and sample.gpu_error == "NVML error while reading the GPUs: Unknown Error (retrying)"
    assert sample.host.ram_total_mb
    sampler.close()
