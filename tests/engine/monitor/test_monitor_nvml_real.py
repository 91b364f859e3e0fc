"""The real NVML path, on a machine with an NVIDIA driver (``scripts/gpu_check.sh`` runs it on a GPU box)."""

import os
import time

import pytest

from lmf_engine.monitor.sampler import Sampler
from lmf_engine.monitor.sources import LiveSource


def driver_present() -> bool:
    try:
        import pynvml

        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
    except Exception:
        return False
    return True


pytestmark = pytest.mark.skipif(not driver_present(), reason="no NVIDIA driver on this machine")


def test_every_gpu_is_read() -> None:
    source = LiveSource()
    try:
        sample = source.read()
    finally:
        source.close()
    assert sample.gpu_error is None and sample.gpus
    for gpu in sample.gpus:
        assert gpu.name and gpu.uuid.startswith(("GPU-", "MIG-"))
        assert gpu.mem_total_mb and 0 <= (gpu.mem_used_mb or 0) <= gpu.mem_total_mb
        assert gpu.util is not None and 0 <= gpu.util <= 100


def test_this_process_on_a_gpu_is_marked_as_the_run() -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch sees no CUDA device")
    block = torch.ones(256, 1 << 20, dtype=torch.uint8, device="cuda")  # 256 MiB on device 0
    torch.cuda.synchronize()
    sampler = Sampler(interval=1.0)
    sampler.watch(pgid=os.getpgid(0))
    try:
        deadline = time.monotonic() + 10
        while True:
            ours = [p for gpu in sampler.sample_now().gpus for p in gpu.processes if p.pid == os.getpid()]
            if ours or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        sampler.close()
    del block
    if not ours:
        pytest.skip("NVML lists no process with this pid (a container's own pid namespace hides it)")
    assert all(p.run for p in ours) and sum(p.mem_mb or 0 for p in ours) >= 256
