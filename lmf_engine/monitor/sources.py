"""Where samples come from: this machine (NVML and psutil), or a recorded sample file replayed in a loop."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from lmf_engine.util.jsonl import read_jsonl

from .host import HostReader
from .nvml import NvmlReader
from .samples import SystemSample


class SampleSource(Protocol):
    """Gives one reading each time it is asked; ``close`` releases what it holds (NVML)."""

    def read(self) -> SystemSample: ...

    def close(self) -> None: ...


class ReplayError(ValueError):
    """A sample file to replay is missing or holds no sample."""


class LiveSource:
    """This machine: every NVIDIA GPU through NVML, the host through psutil (the disk of ``disk_path``)."""

    def __init__(self, disk_path: Path | None = None, *, nvml_retry_s: float = 10.0) -> None:
        self.host = HostReader(disk_path)
        self.nvml = NvmlReader(retry_s=nvml_retry_s)

    def read(self) -> SystemSample:
        gpus, gpu_error = self.nvml.read()
        return SystemSample(t=time.time(), gpus=gpus, host=self.host.read(), gpu_error=gpu_error)

    def close(self) -> None:
        self.nvml.close()


class ReplaySource:
    """The samples of a recorded JSON Lines file (``SystemSample.to_dict()`` a line), in order, looping at the end;
    each reading is a fresh object whose ``t`` is ``clock()`` (now)."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ReplayError(f"{self.path}: no such sample file to replay")
        self._samples: list[dict[str, Any]] = read_jsonl(self.path)[0]
        if not self._samples:
            raise ReplayError(
                f"{self.path}: no samples to replay (one JSON object a line, as `lmf-engine monitor --record` writes)"
            )
        self._clock = clock
        self._next = 0

    def read(self) -> SystemSample:
        sample = SystemSample.from_dict(self._samples[self._next])
        sample.t = self._clock()
        self._next = (self._next + 1) % len(self._samples)
        return sample

    def close(self) -> None:
        """Nothing to release."""
