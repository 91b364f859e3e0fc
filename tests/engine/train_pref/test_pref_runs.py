"""End to end on the demo workspace's tiny model: stages rm, dpo (every pref_loss), kto and ppo.

A few rows repeated over several epochs (``max_samples`` 4, no shuffling) so that a short run measurably learns.
rm and ppo run as the training child (``python -m lmf_engine.train RUN_DIR``); the others in this process.
"""

import json
import math
from pathlib import Path

import pytest
from pref_support import (
    copy_workspace,
    log_history,
    mean,
    prepare_run,
    record,
    run_child,
    run_in_process,
    trainer_log,
)

pytestmark = pytest.mark.slow

REPEAT = {"max_samples": 4, "disable_shuffling": True, "plot_loss": False, "save_steps": 6}


@pytest.fixture(scope="module")
def workspace(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_workspace(demo_workspace, tmp_path_factory.mktemp("pref"))


@pytest.fixture(scope="module")
def rm_run(workspace: Path) -> Path:
    """The demo's rm_lora config, 12 steps on 4 pairs, run as the child (ppo_lora reads it as runs/rm_lora)."""
    run_dir = prepare_run(workspace, "rm_lora", "rm_lora", max_steps=12, **REPEAT)
    run_child(run_dir)
    return run_dir


def test_rm_learns_and_writes_what_llama_factory_writes(rm_run: Path) -> None:
    assert (record(rm_run)["state"], record(rm_run)["error"]) == ("finished", None)
    for name in (
        "adapter_model.safetensors",
        "adapter_config.json",
        "value_head.safetensors",
        "tokenizer_config.json",
        "trainer_state.json",
        "train_results.json",
        "all_results.json",
        "trainer_log.jsonl",
        "checkpoint-6/value_head.safetensors",
        "checkpoint-6/adapter_model.safetensors",
        "checkpoint-12/trainer_state.json",
    ):
        assert (rm_run / name).exists(), name
    assert not (rm_run / "model.safetensors").exists()
    losses = [line["loss"] for line in trainer_log(rm_run) if "loss" in line]
    assert len(losses) == 12
    assert mean(losses[-4:]) < mean(losses[:4]) - 0.2


@pytest.mark.parametrize("pref_loss", ["sigmoid", "hinge", "ipo", "orpo", "simpo"])
def test_dpo_learns_with_each_preference_loss(workspace: Path, pref_loss: str) -> None:
    run_dir = prepare_run(workspace, "dpo_lora", f"dpo_{pref_loss}", pref_loss=pref_loss, max_steps=8, **REPEAT)
    run_in_process(run_dir)
    history = log_history(run_dir)
    assert len(history) == 8
    losses = [entry["loss"] for entry in history]
    assert mean(losses[-2:]) < mean(losses[:2]), losses
    margins = [entry["rewards/margins"] for entry in history]
    assert margins[-1] > margins[0], margins
    assert history[-1]["rewards/accuracies"] == 1.0
    if pref_loss in ("orpo", "simpo"):
        assert history[0]["rewards/chosen"] != 0.0
    else:
        assert history[0]["rewards/chosen"] == 0.0 and history[0]["rewards/margins"] == 0.0
    if pref_loss == "orpo":
        assert {"sft_loss", "odds_ratio_loss"} <= set(history[0])
    assert (run_dir / "adapter_model.safetensors").exists() and (run_dir / "all_results.json").exists()


def test_dpo_full_tuning_evaluates_against_a_frozen_copy(workspace: Path) -> None:
    run_dir = prepare_run(
        workspace,
        "dpo_lora",
        "dpo_full",
        finetuning_type="full",
        learning_rate=1e-4,
        max_steps=2,
        val_size=4,
        do_eval=True,
        max_samples=20,
        plot_loss=False,
    )
    run_in_process(run_dir)
    metrics = json.loads((run_dir / "eval_results.json").read_text(encoding="utf-8"))
    assert {"eval_loss", "eval_rewards/accuracies", "eval_rewards/margins", "eval_logps/chosen"} <= set(metrics)
    assert metrics["eval_rewards/margins"] != 0.0
    assert (run_dir / "model.safetensors").exists() and not (run_dir / "adapter_model.safetensors").exists()


def test_kto_learns_and_logs_rewards(workspace: Path) -> None:
    run_dir = prepare_run(workspace, "kto_lora", "kto_lora", max_steps=12, **REPEAT)
    run_in_process(run_dir)
    history = log_history(run_dir)
    losses = [entry["loss"] for entry in history]
    assert mean(losses[-3:]) < mean(losses[:3]) - 0.03, losses
    assert all(math.isfinite(entry["kl"]) for entry in history)
    chosen = [entry["rewards/chosen"] for entry in history if "rewards/chosen" in entry]
    assert chosen[-1] > chosen[0]
    assert (run_dir / "adapter_model.safetensors").exists()


def test_rm_evaluates_and_predicts_pair_scores(workspace: Path, rm_run: Path) -> None:
    run_dir = prepare_run(
        workspace,
        "rm_lora",
        "rm_predict",
        do_train=False,
        do_eval=True,
        do_predict=True,
        adapter_name_or_path=str(rm_run),
        max_samples=8,
        val_size=4,
        plot_loss=False,
    )
    run_in_process(run_dir)
    metrics = json.loads((run_dir / "eval_results.json").read_text(encoding="utf-8"))
    assert 0.0 <= metrics["eval_accuracy"] <= 1.0 and math.isfinite(metrics["eval_loss"])
    lines = (run_dir / "generated_predictions.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4
    assert set(json.loads(lines[0])) == {"chosen", "rejected"}


@pytest.fixture(scope="module")
def ppo_run(workspace: Path, rm_run: Path) -> Path:
    """The demo's ppo_lora config (4 steps, reward model runs/rm_lora), run as the child."""
    run_dir = prepare_run(workspace, "ppo_lora", "ppo_lora", plot_loss=False, save_steps=2)
    run_child(run_dir)
    return run_dir


def test_ppo_trains_against_the_lora_reward_model(ppo_run: Path) -> None:
    from safetensors.torch import load_file

    assert (record(ppo_run)["state"], record(ppo_run)["error"]) == ("finished", None)
    for name in (
        "adapter_model.safetensors",
        "value_head.safetensors",
        "reward/adapter_model.safetensors",
        "trainer_state.json",
        "all_results.json",
        "checkpoint-2/ppo_state.json",
        "checkpoint-2/optimizer.pt",
        "checkpoint-4/trainer_state.json",
    ):
        assert (ppo_run / name).exists(), name
    lines = [line for line in trainer_log(ppo_run) if "loss" in line]
    assert [line["current_steps"] for line in lines] == [1, 2, 3, 4]
    assert all(math.isfinite(line["loss"]) and math.isfinite(line["reward"]) for line in lines)
    trained = load_file(ppo_run / "adapter_model.safetensors")
    assert any(float(value.abs().max()) > 0 for key, value in trained.items() if "lora_B" in key)
    state = json.loads((ppo_run / "checkpoint-2" / "ppo_state.json").read_text(encoding="utf-8"))
    assert 0 < state["kl_coef"] < 0.3


def test_ppo_resumes_from_its_newest_checkpoint(workspace: Path, ppo_run: Path) -> None:
    config = (ppo_run / "config.yaml").read_text(encoding="utf-8").replace("max_steps: 4", "max_steps: 5")
    (ppo_run / "config.yaml").write_text(config, encoding="utf-8")
    run_in_process(ppo_run, resume=True)
    state = json.loads((ppo_run / "trainer_state.json").read_text(encoding="utf-8"))
    assert state["global_step"] == 5
    assert [entry["step"] for entry in state["log_history"] if "loss" in entry] == [1, 2, 3, 4, 5]
