"""The rich panel: GPU blocks with the run's processes marked, the host, the no-driver line; no colours."""

from pathlib import Path

from monitor_support import sample_dict
from rich.console import Console, RenderableType

from lmf_engine.monitor.panel import render_panel
from lmf_engine.monitor.samples import GpuProcess, SystemSample
from lmf_engine.monitor.sources import ReplaySource


def text_of(renderable: RenderableType, width: int = 100) -> str:
    console = Console(width=width, record=True, color_system=None, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    return console.export_text()


def test_a_block_per_gpu_with_the_runs_processes_first(sample_file: Path) -> None:
    sample = ReplaySource(sample_file).read()
    sample.gpus[0].processes.append(GpuProcess(pid=7777, name="jupyter", mem_mb=512.0))
    lines = text_of(render_panel(sample, title="system")).splitlines()
    assert "system" in lines[0]
    text = "\n".join(lines)
    assert "GPU 0  NVIDIA H200" in text and "GPU 1  NVIDIA H200" in text
    assert "util ██████████████████░░ 90%" in text
    assert "60.0/140.4 GiB, run 59.0 GiB" in text
    assert "60°C  500/700 W  SM 1980 MHz  mem 3201 MHz" in text
    process_lines = [line.strip("│ ") for line in lines if "4242" in line or "7777" in line or "5151" in line]
    assert process_lines == ["▶ 4242 python  59.0 GiB", "7777 jupyter  512 MiB", "5151 vllm 900 MiB"]
    assert "Host  16 cores" in text and "cpu  ██░░░░░░░░░░░░░░░░░░ 10%" in text
    assert "ram  ███░░░░░░░░░░░░░░░░░ 20.0/128.0 GiB" in text and "disk █████░░░░░░░░░░░░░░░ 120/512 GiB" in text
    assert "disk read 0.0  write 1.5 MiB/s" in text and "net  in 0.2  out 0.5 MiB/s" in text


def test_no_colour_only_bold_dim_reverse(sample_file: Path) -> None:
    console = Console(width=100, color_system="truecolor", file=open("/dev/null", "w"))  # noqa: SIM115
    sample = ReplaySource(sample_file).read()
    for segment in console.render(render_panel(sample, title="system")):
        style = segment.style
        if style is not None:
            assert style.color is None and style.bgcolor is None, f"{segment.text!r} has a colour"
    bold = [s.text for s in console.render(render_panel(sample)) if s.style is not None and s.style.bold]
    assert "GPU 0" in bold and "4242" in bold and "5151" not in bold


def test_without_gpu_readings_one_line_says_why_and_the_host_stays() -> None:
    sample = SystemSample.from_dict(
        {**sample_dict(1.0, 0.0, 0.0, 12.0, 2048.0), "gpus": [], "gpu_error": "no NVIDIA driver found (NVML: x)"}
    )
    lines = text_of(render_panel(sample)).splitlines()
    assert lines[0] == "GPU  no NVIDIA driver found (NVML: x)"
    assert lines[1] == "Host  16 cores" and not any("GPU 0" in line for line in lines)


def test_missing_figures_and_no_sample() -> None:
    sample = SystemSample.from_dict({"t": 1.0, "gpus": [{"index": 3, "name": "Tesla T4"}], "host": {}})
    text = text_of(render_panel(sample))
    assert "util ░░░░░░░░░░░░░░░░░░░░ n/a" in text and "n/a of n/a" in text
    assert "n/a  n/a  SM n/a  mem n/a" in text
    assert "waiting for the first sample" in text_of(render_panel(None))


def test_many_processes_are_counted_past_six() -> None:
    sample = SystemSample.from_dict({"t": 1.0, "gpus": [{"index": 0, "name": "A100"}], "host": {}})
    sample.gpus[0].processes = [GpuProcess(pid=100 + i, name="worker", mem_mb=float(i)) for i in range(9)]
    text = text_of(render_panel(sample))
    assert text.count("worker") == 6 and "and 3 more" in text
