"""The preference stages' pieces on their own: collators, log-probabilities, losses, PPO arithmetic, value heads."""

import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from lmf_engine.data.processors import IGNORE_INDEX


class _Tokenizer:
    pad_token_id = 0
    padding_side = "right"


def _pair(chosen: list[int], rejected: list[int]) -> dict[str, list[int]]:
    return {
        "chosen_input_ids": chosen,
        "chosen_attention_mask": [1] * len(chosen),
        "chosen_labels": [IGNORE_INDEX, *chosen[1:]],
        "rejected_input_ids": rejected,
        "rejected_attention_mask": [1] * len(rejected),
        "rejected_labels": [IGNORE_INDEX, *rejected[1:]],
    }


def test_stages_are_registered() -> None:
    from lmf_engine.train.stages import STAGES

    assert {stage: STAGES[stage] for stage in ("rm", "dpo", "kto", "ppo")} == {
        "rm": "lmf_engine.train.rm",
        "dpo": "lmf_engine.train.dpo",
        "kto": "lmf_engine.train.kto",
        "ppo": "lmf_engine.train.ppo",
    }


def test_pairwise_collator_puts_all_chosen_before_all_rejected() -> None:
    from lmf_engine.train.pairwise import PairwiseCollator

    batch = PairwiseCollator(_Tokenizer(), pad_to_multiple_of=4)([_pair([1, 2, 3], [1, 4]), _pair([5, 6], [5, 7, 8])])
    assert batch["input_ids"].tolist() == [[1, 2, 3, 0], [5, 6, 0, 0], [1, 4, 0, 0], [5, 7, 8, 0]]
    assert batch["attention_mask"].sum(dim=1).tolist() == [3, 2, 2, 3]
    assert batch["labels"][3].tolist() == [IGNORE_INDEX, 7, 8, IGNORE_INDEX]


def test_kto_collator_pads_target_and_kl_sequences_apart_and_keeps_tags() -> None:
    from lmf_engine.train.pairwise import KTOCollator

    def row(ids: list[int], kl_ids: list[int], tag: bool) -> dict[str, object]:
        return {
            "input_ids": ids,
            "attention_mask": [1] * len(ids),
            "labels": ids,
            "kl_input_ids": kl_ids,
            "kl_attention_mask": [1] * len(kl_ids),
            "kl_labels": kl_ids,
            "kto_tags": tag,
        }

    batch = KTOCollator(_Tokenizer(), pad_to_multiple_of=None)([row([1, 2], [1, 2, 3, 4], True), row([3], [5], False)])
    assert batch["input_ids"].tolist() == [[1, 2], [3, 0]]
    assert batch["kl_input_ids"].tolist() == [[1, 2, 3, 4], [5, 0, 0, 0]]
    assert batch["kl_labels"][1].tolist() == [5, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX]
    assert batch["kto_tags"].tolist() == [True, False]


def test_batch_logps_sums_label_tokens_and_ld_alpha_weights_the_longer_tail() -> None:
    from lmf_engine.train.pref_math import batch_logps

    torch.manual_seed(0)
    logits = torch.randn(2, 5, 7)
    labels = torch.tensor([[IGNORE_INDEX, 3, 4, IGNORE_INDEX, IGNORE_INDEX], [IGNORE_INDEX, 1, 2, 5, 6]])
    logps, lengths = batch_logps(logits, labels)
    table = logits.log_softmax(-1)
    expected = [table[0, 0, 3] + table[0, 1, 4], table[1, 0, 1] + table[1, 1, 2] + table[1, 2, 5] + table[1, 3, 6]]
    assert torch.allclose(logps, torch.stack(expected), atol=1e-5)
    assert lengths.tolist() == [2, 4]
    weighted, _ = batch_logps(logits, labels, ld_alpha=0.5)
    tail = table[1, 2, 5] + table[1, 3, 6]
    assert torch.allclose(weighted[1], expected[1] - 0.5 * tail, atol=1e-5)
    assert torch.allclose(weighted[0], expected[0], atol=1e-5)


def _dpo(loss_type: str, beta: float = 0.1, label_smoothing: float = 0.0) -> SimpleNamespace:
    return SimpleNamespace(loss_type=loss_type, beta=beta, label_smoothing=label_smoothing, simpo_gamma=0.5)


def test_reference_based_losses_follow_their_formulas() -> None:
    from lmf_engine.train.dpo_trainer import DPOTrainer

    chosen, rejected = torch.tensor([2.0, -1.0]), torch.tensor([0.5, 1.0])
    margin = chosen - rejected
    sigmoid = DPOTrainer.dpo_loss(_dpo("sigmoid", label_smoothing=0.2), chosen, rejected)
    expected = (
        -torch.nn.functional.logsigmoid(0.1 * margin) * 0.8 - torch.nn.functional.logsigmoid(-0.1 * margin) * 0.2
    )
    assert torch.allclose(sigmoid, expected)
    assert torch.allclose(DPOTrainer.dpo_loss(_dpo("hinge"), chosen, rejected), torch.relu(1 - 0.1 * margin))
    assert torch.allclose(DPOTrainer.dpo_loss(_dpo("ipo"), chosen, rejected), (margin - 5.0) ** 2)
    kto_pair = DPOTrainer.dpo_loss(_dpo("kto_pair"), chosen, rejected)
    chosen_kl, rejected_kl = chosen.mean().clamp(min=0), rejected.mean().clamp(min=0)
    assert kto_pair.shape == (4,)
    assert torch.allclose(kto_pair[:2], 1 - torch.sigmoid(0.1 * (chosen - rejected_kl)))
    assert torch.allclose(kto_pair[2:], 1 - torch.sigmoid(0.1 * (chosen_kl - rejected)))


def test_reference_free_losses_follow_their_formulas() -> None:
    from lmf_engine.train.dpo_trainer import DPOTrainer

    chosen, rejected = torch.tensor([-0.5, -2.0]), torch.tensor([-1.0, -0.25])
    log_odds = (chosen - rejected) - (torch.log1p(-chosen.exp()) - torch.log1p(-rejected.exp()))
    orpo = DPOTrainer.odds_ratio_loss(_dpo("orpo"), chosen, rejected)
    assert torch.allclose(orpo, -chosen - 0.1 * torch.nn.functional.logsigmoid(log_odds))
    simpo = DPOTrainer.simpo_loss(_dpo("simpo"), chosen, rejected)
    assert torch.allclose(simpo, -torch.nn.functional.logsigmoid(0.1 * (chosen - rejected - 5.0)))


def test_kto_metrics_become_means_and_a_missing_side_is_left_out() -> None:
    from lmf_engine.train.kto_trainer import KTOTrainer

    reduced = {
        "rewards/chosen_sum": 3.0,
        "logps/chosen_sum": -30.0,
        "logits/chosen_sum": 6.0,
        "count/chosen": 3.0,
        "rewards/rejected_sum": 0.0,
        "logps/rejected_sum": 0.0,
        "logits/rejected_sum": 0.0,
        "count/rejected": 0.0,
        "kl": 0.25,
    }
    logged = KTOTrainer.finish_metrics(None, reduced)  # type: ignore[arg-type]
    assert logged == {"rewards/chosen": 1.0, "logps/chosen": -10.0, "logits/chosen": 2.0, "kl": 0.25}


def test_gae_advantages_and_returns_match_a_hand_computation() -> None:
    from lmf_engine.train.ppo_math import PPOHyperParams, compute_advantages

    values = torch.tensor([[1.0, 2.0, 0.5]])
    rewards = torch.tensor([[0.0, 0.0, 1.0]])
    mask = torch.ones(1, 3)
    _, advantages, returns = compute_advantages(values, rewards, mask, PPOHyperParams())
    raw = torch.tensor([[1 + 0.95 * (-1.5 + 0.95 * 0.5), -1.5 + 0.95 * 0.5, 0.5]])
    assert torch.allclose(returns, raw + values)
    assert torch.allclose(advantages, (raw - raw.mean()) / raw.std(), atol=1e-4)


def test_rewards_are_the_kl_penalty_plus_the_score_on_the_last_answer_token() -> None:
    from lmf_engine.train.ppo_math import compute_rewards

    logprobs = torch.tensor([[-1.0, -2.0, -3.0, 0.0]])
    ref_logprobs = torch.tensor([[-1.5, -2.0, -2.0, 0.0]])
    masks = torch.tensor([[0, 1, 1, 0]])
    rewards, kls = compute_rewards(torch.tensor([4.0]), logprobs, ref_logprobs, masks, kl_coef=0.2)
    assert torch.allclose(kls, torch.tensor([[0.5, 0.0, -1.0, 0.0]]))
    assert torch.allclose(rewards, torch.tensor([[-0.1, 0.0, 0.2 + 4.0, 0.0]]))


def test_ppo_loss_is_the_clipped_objective_and_skips_runaway_ratios() -> None:
    from lmf_engine.train.ppo_math import PPOHyperParams, ppo_loss

    hp = PPOHyperParams()
    old = torch.tensor([[-1.0, -1.0]])
    values = torch.tensor([[0.5, 0.5]])
    mask = torch.ones(1, 2)
    advantages, returns = torch.tensor([[1.0, -1.0]]), torch.tensor([[1.0, 0.0]])
    pg, vf = ppo_loss(old, values, old.clone(), values.clone(), mask, advantages, returns, hp)
    assert math.isclose(pg.item(), 0.0, abs_tol=1e-7)
    assert math.isclose(vf.item(), hp.vf_coef * 0.5 * 0.25, rel_tol=1e-6)
    higher = old + math.log(1.5)
    pg, _ = ppo_loss(old, values, higher, values, mask, advantages, returns, hp)
    assert math.isclose(pg.item(), (-1.2 + 1.5) / 2, rel_tol=1e-5)
    runaway = old + math.log(20.0)
    pg, vf = ppo_loss(old, values, runaway, values, mask, advantages, returns, hp)
    assert pg.item() == 0.0 and vf.item() == 0.0


def test_adaptive_kl_controller_moves_at_most_twenty_percent_of_a_horizon_step() -> None:
    from lmf_engine.train.ppo_math import AdaptiveKLController

    controller = AdaptiveKLController(0.2, target=6.0, horizon=10000)
    controller.update(current=60.0, n_steps=100)
    assert math.isclose(controller.value, 0.2 * (1 + 0.2 * 100 / 10000))
    controller.update(current=6.0, n_steps=100)
    assert math.isclose(controller.value, 0.2 * (1 + 0.2 * 100 / 10000))


def test_running_moments_follow_all_values_seen() -> None:
    from lmf_engine.train.pref_math import RunningMoments, masked_whiten

    moments = RunningMoments(SimpleNamespace(num_processes=1))
    first, second = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([10.0, 20.0])
    moments.update(first)
    batch_mean, batch_std = moments.update(second)
    everything = torch.cat((first, second))
    assert math.isclose(batch_mean, 15.0) and math.isclose(batch_std, second.std().item(), rel_tol=1e-5)
    assert math.isclose(moments.mean, everything.mean().item(), rel_tol=1e-5)
    assert math.isclose(moments.std, everything.std().item(), rel_tol=1e-4)
    whitened = masked_whiten(torch.tensor([1.0, 2.0, 3.0, 100.0]), torch.tensor([1, 1, 1, 0]))
    assert torch.allclose(whitened[:3], torch.tensor([-1.0, 0.0, 1.0]), atol=1e-4)


@pytest.fixture(scope="module")
def value_head_lora(tiny_model_dir: Path) -> object:
    """The tiny model with a LoRA adapter and a value head (random), as the rm stage trains it."""
    from lmf_engine.config import load_config
    from lmf_engine.model.loader import load_model
    from lmf_engine.model.tokenizer import load_tokenizer

    config = load_config(None, [f"model_name_or_path={tiny_model_dir}", "stage=rm", "lora_target=q_proj,v_proj"])
    torch.manual_seed(0)
    return load_model(config, load_tokenizer(config), is_trainable=True, add_valuehead=True)


def test_value_head_model_saves_in_llama_factory_layout_and_loads_back(
    value_head_lora: object, tmp_path: Path
) -> None:
    from safetensors.torch import load_file

    from lmf_engine.train.valuehead_io import load_value_head_model, save_value_head_model

    model = value_head_lora
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name or "v_head" in name:
                param.normal_()
    save_value_head_model(model, str(tmp_path))
    assert {"adapter_model.safetensors", "adapter_config.json", "value_head.safetensors"} <= {
        p.name for p in tmp_path.iterdir()
    }
    head = load_file(tmp_path / "value_head.safetensors")
    assert sorted(head) == ["v_head.summary.bias", "v_head.summary.weight"]
    saved = {name: param.detach().clone() for name, param in model.named_parameters() if param.requires_grad}
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name in saved:
                param.zero_()
    load_value_head_model(model, str(tmp_path))
    for name, param in model.named_parameters():
        if name in saved:
            assert torch.equal(param, saved[name]), name


def test_lora_reward_adapter_scores_then_hands_back_the_policy(
    value_head_lora: object, tiny_model_dir: Path, tmp_path: Path
) -> None:
    from lmf_engine.config import load_config
    from lmf_engine.model.loader import load_model
    from lmf_engine.model.tokenizer import load_tokenizer
    from lmf_engine.train.ppo_rewards import load_lora_reward, swap_reward_head
    from lmf_engine.train.valuehead_io import save_value_head_model

    reward_dir = tmp_path / "rm"
    save_value_head_model(value_head_lora, str(reward_dir))
    config = load_config(None, [f"model_name_or_path={tiny_model_dir}", "stage=sft", "lora_target=q_proj,v_proj"])
    torch.manual_seed(1)
    policy = load_model(config, load_tokenizer(config), is_trainable=True, add_valuehead=True)
    load_lora_reward(policy, str(reward_dir))
    policy.eval()
    ids = torch.tensor([[5, 6, 7, 8]])
    own_head = policy.v_head.summary.weight.detach().clone()
    before = policy(input_ids=ids)[-1]
    swap_reward_head(policy, "reward")
    scored = policy(input_ids=ids)[-1]
    expected = value_head_lora.eval()(input_ids=ids)[-1]
    assert torch.allclose(scored, expected, atol=1e-5)
    swap_reward_head(policy, "default")
    assert torch.equal(policy.v_head.summary.weight, own_head)
    assert torch.allclose(policy(input_ids=ids)[-1], before)
    assert policy.pretrained_model.active_adapter == "default"
    assert all(p.requires_grad for n, p in policy.named_parameters() if "lora_" in n and ".default." in n)
    assert not any(p.requires_grad for n, p in policy.named_parameters() if ".reward." in n)
