"""The optimizer keys (GaLore, APOLLO, BAdam, Adam-mini, Muon): LLaMA-Factory 0.9.5's names and defaults, the rules
between them, and the one-line error naming the extra when an optimizer's package is missing."""

from pathlib import Path

import pytest

from lmf_engine.config import check_config, load_config, optimizer_extras
from lmf_engine.config.optimizer_extras import OptimizerPackageMissing, require_optimizer_packages

LF_DEFAULTS = {
    "use_galore": False, "galore_target": "all", "galore_rank": 16, "galore_update_interval": 200,
    "galore_scale": 2.0, "galore_proj_type": "std", "galore_layerwise": False,
    "use_apollo": False, "apollo_target": "all", "apollo_rank": 16, "apollo_update_interval": 200,
    "apollo_scale": 32.0, "apollo_proj": "random", "apollo_proj_type": "std", "apollo_scale_type": "channel",
    "apollo_layerwise": False, "apollo_scale_front": False,
    "use_badam": False, "badam_mode": "layer", "badam_start_block": None, "badam_switch_mode": "ascending",
    "badam_switch_interval": 50, "badam_update_ratio": 0.05, "badam_mask_mode": "adjacent", "badam_verbose": 0,
    "use_adam_mini": False, "use_muon": False,
}  # fmt: skip


def test_keys_have_llamafactory_defaults() -> None:
    config = load_config()
    assert {key: config.get(key) for key in LF_DEFAULTS} == LF_DEFAULTS


def test_llamafactory_example_settings_validate(tmp_path: Path) -> None:
    """The settings of LLaMA-Factory's examples/extras/{galore,apollo,badam,adam_mini,muon} configs."""
    examples = [
        "use_galore: true\ngalore_layerwise: true\ngalore_target: all\ngalore_rank: 128\ngalore_scale: 2.0\n",
        "use_apollo: true\napollo_layerwise: true\napollo_target: all\napollo_rank: 128\napollo_scale: 32.0\n"
        "apollo_scale_type: channel\n",
        "use_badam: true\nbadam_mode: layer\nbadam_switch_mode: ascending\nbadam_switch_interval: 50\n"
        "badam_verbose: 2\ngradient_accumulation_steps: 8\n",
        "use_adam_mini: true\ngradient_accumulation_steps: 8\n",
        "use_muon: true\ngradient_accumulation_steps: 8\n",
    ]
    for text in examples:
        path = tmp_path / "c.yaml"
        path.write_text("finetuning_type: full\n" + text)
        _, issues = check_config(path)
        assert issues == [], text


def test_optimizers_that_llamafactory_combines_are_accepted(tmp_path: Path) -> None:
    """LLaMA-Factory lets Adam-mini and Muon go with LoRA (LoRA+ first) and with each other (Adam-mini first)."""
    path = tmp_path / "c.yaml"
    path.write_text("use_adam_mini: true\nuse_muon: true\nloraplus_lr_ratio: 16\n")
    _, issues = check_config(path)
    assert issues == []


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("use_galore", "use_galore needs the galore-torch package: pip install 'lmf-workbench[galore]'"),
        ("use_apollo", "use_apollo needs the apollo-torch package: pip install 'lmf-workbench[apollo]'"),
        ("use_badam", "use_badam needs the badam package: pip install 'lmf-workbench[badam]'"),
        ("use_adam_mini", "use_adam_mini needs the adam-mini package: pip install 'lmf-workbench[adam-mini]'"),
    ],
)
def test_a_missing_package_is_one_line_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key: str, message: str
) -> None:
    from lmf_engine.runs.launch_plan import LaunchError, plan_launch
    from lmf_engine.train.entry import describe_error

    config = load_config(values={"finetuning_type": "full", key: True})
    require_optimizer_packages(config)  # installed here
    monkeypatch.setattr(optimizer_extras, "installed", lambda module: False)
    with pytest.raises(OptimizerPackageMissing) as caught:
        require_optimizer_packages(config)
    assert str(caught.value) == message
    assert describe_error(caught.value) == message
    with pytest.raises(LaunchError) as refused:
        plan_launch(config, tmp_path / "run", environ={}, gpu_count=0)
    assert str(refused.value) == message


def test_muon_needs_no_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(optimizer_extras, "installed", lambda module: False)
    require_optimizer_packages(load_config(values={"finetuning_type": "full", "use_muon": True}))
