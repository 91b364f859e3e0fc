"""The ``lmf-engine`` command line, run as a user runs it: a subprocess with exit codes, stdout and stderr."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

EXAMPLE = Path(__file__).resolve().parents[3] / "shared" / "lmf-examples" / "train_lora" / "qwen3_lora_sft.yaml"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lmf_engine", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def test_version() -> None:
    result = run("version")
    assert result.returncode == 0
    assert result.stdout.startswith("lmf workbench ")


def test_validate_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("model_name_or_path: Qwen/Qwen2.5-0.5B\nstage: sft\nlora_rank: 8\n")
    result = run("config", "validate", str(path), "cutoff_len=512")
    assert result.returncode == 0, result.stderr
    assert "valid (4 keys set)" in result.stdout


def test_validate_reports_every_error_on_stderr_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("stage: sft\nlora_rnk: 8\nbf16: sometimes\n")
    result = run("config", "validate", str(path), "learning_rate=abc")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines == [
        f"{path}:2: lora_rnk: unknown key; did you mean lora_rank?",
        f"{path}:3: bf16='sometimes': expected true or false",
        "<command line, argument 1>: learning_rate='abc': expected a number",
        f"{path}: 3 problems",
    ]
    assert "Traceback" not in result.stderr


def test_show_prints_resolved_yaml(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("# comment\nlearning_rate: 1e-4\nstage: dpo\n")
    result = run("config", "show", str(path), "pref_beta=0.3")
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout) == {"learning_rate": 1e-4, "stage": "dpo", "pref_beta": 0.3}
    full = yaml.safe_load(run("config", "show", str(path), "--all").stdout)
    assert full["lora_rank"] == 8 and full["stage"] == "dpo"
    assert len(full) > 150


def test_schema_is_json_schema() -> None:
    result = run("config", "schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["type"] == "object"
    assert schema["properties"]["stage"]["enum"] == ["pt", "sft", "rm", "ppo", "dpo", "kto"]


def test_env_lists_the_stack() -> None:
    result = run("env", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    for key in ("python", "torch", "transformers", "peft", "trl", "accelerate", "datasets", "vllm", "cuda", "gpus"):
        assert key in info
    assert info["vllm"] in ("not installed",) or info["vllm"][0].isdigit()


@pytest.mark.skipif(not EXAMPLE.exists(), reason="../shared/lmf-examples is not present")
def test_validate_llamafactory_example() -> None:
    data = EXAMPLE.parents[2] / "lmf-data"
    assert run("config", "validate", str(EXAMPLE), f"dataset_dir={data}").returncode == 0
    elsewhere = run("config", "validate", str(EXAMPLE))  # from a folder without LLaMA-Factory's data/
    assert elsewhere.returncode == 2 and "dataset_dir: 'data': no such folder" in elsewhere.stderr


PROBE = """
import sys
from lmf_engine.cli.main import app
try:
    app({args!r}, standalone_mode=False)
except SystemExit:
    pass
heavy = ("torch", "transformers", "peft", "trl", "datasets", "accelerate", "textual")
heavy = sorted(m for m in heavy if m in sys.modules)
print("HEAVY=" + ",".join(heavy))
"""


@pytest.mark.parametrize(
    "args",
    [["--help"], ["version"], ["config", "validate", "{cfg}"], ["config", "show", "{cfg}"], ["config", "schema"]],
)
def test_light_commands_never_import_the_ml_stack(tmp_path: Path, args: list[str]) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("stage: sft\n")
    args = [a.format(cfg=cfg) for a in args]
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "HEAVY="


@pytest.mark.parametrize("command", ["train", "export"])
def test_a_workspace_that_does_not_exist_is_refused(command: str, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("model_name_or_path: Qwen/Qwen2.5-0.5B\nstage: sft\ntemplate: qwen\n")
    result = run(command, str(path), "--workspace", str(tmp_path / "nonexistent"))
    assert result.returncode == 2 and "nonexistent" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "nonexistent").exists()
