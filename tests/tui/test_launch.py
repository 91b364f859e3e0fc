"""Launch options: LLaMA-Factory's accelerate / DeepSpeed / FSDP configs found in a workspace, and what the options
set (config keys, CUDA_VISIBLE_DEVICES, the launch plan)."""

import shutil
from pathlib import Path

from lmf_tui.launch import LaunchConfigFile, LaunchOptions, config_kind, find_launch_configs, next_free_dir, prepare
from lmf_tui.workspace import Workspace

LF_EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "lmf-examples"


def test_llamafactory_launch_configs_are_found_in_a_checkout(tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    for folder in ("accelerate", "deepspeed", "train_lora"):
        shutil.copytree(LF_EXAMPLES / folder, examples / folder)
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "broken.yaml").write_text("distributed_type: [unclosed\n")
    found = {(f.path.relative_to(tmp_path).as_posix(), f.kind) for f in find_launch_configs(tmp_path)}
    assert ("examples/deepspeed/ds_z3_config.json", "deepspeed") in found
    assert ("examples/accelerate/fsdp_config.yaml", "accelerate") in found
    assert not any(path.startswith("examples/train_lora") or "broken" in path for path, _ in found)
    assert config_kind(LF_EXAMPLES / "train_lora" / "qwen3_lora_sft.yaml") is None


def test_options_become_config_keys_and_the_gpu_list(workspace: Path) -> None:
    deepspeed = LaunchConfigFile(workspace / "ds.json", "deepspeed")
    options = LaunchOptions(workspace / "configs" / "sft_lora.yaml", "runs/x", 2, (1, 3), deepspeed)
    assert options.values() == {"output_dir": "runs/x", "num_processes": 2, "deepspeed": str(deepspeed.path)}
    assert options.environ({"PATH": "/bin"}) == {"PATH": "/bin", "CUDA_VISIBLE_DEVICES": "1,3"}
    accelerate = LaunchConfigFile(workspace / "fsdp.yaml", "accelerate")
    assert LaunchOptions(options.config_path, launch_config=accelerate).values() == {
        "accelerate_config": str(accelerate.path)
    }
    assert "CUDA_VISIBLE_DEVICES" not in LaunchOptions(options.config_path).environ({})


def test_prepare_plans_two_processes_through_accelerate(workspace: Path) -> None:
    options = LaunchOptions(workspace / "configs" / "sft_lora.yaml", "runs/two", processes=2)
    config, preview = prepare(Workspace(workspace), options)
    assert config.training.num_processes == 2 and preview.run_dir == workspace / "runs" / "two"
    assert "--multi_gpu" in preview.plan.argv and preview.plan.num_processes == 2
    (workspace / "runs" / "two").mkdir(parents=True)
    assert next_free_dir(workspace / "runs" / "two") == workspace / "runs" / "two-2"
