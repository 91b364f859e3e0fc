"""Fixtures of the monitor tests: a fake ``pynvml`` module, a recorded sample file."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from monitor_support import FakeDevice, FakeNvml, sample_dict, write_samples


@pytest.fixture
def fake_nvml(monkeypatch: pytest.MonkeyPatch) -> FakeNvml:
    """A fake ``pynvml`` in ``sys.modules`` for the test, with one H200 and no process."""
    fake = FakeNvml()
    fake.devices.append(FakeDevice())
    monkeypatch.setitem(sys.modules, "pynvml", fake.module)
    return fake


@pytest.fixture
def sample_file(tmp_path: Path) -> Path:
    """Three recorded samples: GPU 0 at 90/95/100% util with 60/70/65 GiB used, CPU 10/20/30%, RAM 20/24/22 GiB."""
    return write_samples(
        tmp_path / "samples.jsonl",
        [
            sample_dict(1000.0, 90.0, 61440.0, 10.0, 20480.0),
            sample_dict(1005.0, 95.0, 71680.0, 20.0, 24576.0),
            sample_dict(1010.0, 100.0, 66560.0, 30.0, 22528.0),
        ],
    )


@pytest.fixture
def session_child() -> Iterator[subprocess.Popen[bytes]]:
    """``sleep`` in a new session: its process group id is its pid, not ours."""
    child = subprocess.Popen(["sleep", "60"], start_new_session=True)
    yield child
    child.kill()
    child.wait()
