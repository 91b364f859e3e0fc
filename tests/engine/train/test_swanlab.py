"""SwanLab logging: the one-line error without the package, ``report_to`` de-duplication, and the callback of
``use_swanlab`` logging a run in SwanLab's offline mode (no network)."""

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import yaml

from lmf_engine.config import check_config, load_config
from lmf_engine.train.swanlab_logging import SwanLabMissing, check_swanlab, integrations, recorded_config

needs_swanlab = pytest.mark.skipif(
    importlib.util.find_spec("swanlab") is None, reason="the swanlab extra is not installed"
)


def test_llama_factory_swanlab_keys_validate(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    values = {"use_swanlab": True, "swanlab_project": "p", "swanlab_run_name": "r", "swanlab_mode": "local"}
    values.update(swanlab_workspace="w", swanlab_api_key="k", swanlab_logdir="logs", report_to="swanlab")
    values.update(swanlab_lark_webhook_url="https://example.invalid/hook", swanlab_lark_secret="s")
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    config, issues = check_config(path)
    assert issues == []
    assert config.get("swanlab_mode") == "local" and load_config().get("swanlab_project") == "llamafactory"


def test_without_the_package_each_key_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "swanlab" else real(name, *a))
    with pytest.raises(SwanLabMissing, match=r"^use_swanlab needs the swanlab package: pip install 'lmf-workbench\["):
        check_swanlab(load_config(values={"use_swanlab": True}))
    with pytest.raises(SwanLabMissing, match=r"^report_to: swanlab needs the swanlab package: .*\[swanlab\]'$"):
        check_swanlab(load_config(values={"report_to": "tensorboard,swanlab"}))
    check_swanlab(load_config(values={"report_to": ["tensorboard"]}))


def test_a_run_without_the_package_fails_before_loading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lmf_engine.train.entry import describe_error, run_stage
    from lmf_engine.train.signals import StopRequest

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "swanlab" else real(name, *a))
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"use_swanlab": True}), encoding="utf-8")
    with pytest.raises(SwanLabMissing) as caught:
        run_stage(tmp_path, False, StopRequest(), None)
    expected = "use_swanlab needs the swanlab package: pip install 'lmf-workbench[swanlab]'"
    assert describe_error(caught.value) == expected


def test_use_swanlab_takes_swanlab_out_of_report_to(tmp_path: Path) -> None:
    from lmf_engine.train.args import training_arguments

    both = load_config(values={"use_swanlab": True, "report_to": "swanlab,tensorboard"})
    assert integrations(both) == ["tensorboard"]
    assert training_arguments(both, tmp_path).report_to == ["tensorboard"]
    only = load_config(values={"use_swanlab": True, "report_to": ["swanlab"]})
    assert training_arguments(only, tmp_path).report_to == []
    assert integrations(load_config(values={"report_to": "swanlab"})) == ["swanlab"]


def test_recorded_config_masks_secrets() -> None:
    config = load_config(values={"swanlab_api_key": "sk-1", "hf_hub_token": "hf-2", "swanlab_lark_secret": "x"})
    recorded = recorded_config(config)
    assert recorded["swanlab_api_key"] == "<SWANLAB_API_KEY>" and recorded["hf_hub_token"] == "<HF_HUB_TOKEN>"
    assert recorded["swanlab_lark_secret"] == "<SWANLAB_LARK_SECRET>" and recorded["swanlab_logdir"] is None
    assert "sk-1" not in str(recorded) and "hf-2" not in str(recorded)


@needs_swanlab
def test_use_swanlab_logs_the_run_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import swanlab
    from swanlab.integration.transformers import SwanLabCallback
    from transformers import TrainerControl, TrainerState

    from lmf_engine.train.args import training_arguments
    from lmf_engine.train.common import StageContext
    from lmf_engine.train.signals import StopRequest

    monkeypatch.chdir(tmp_path)
    logins: list[Any] = []
    monkeypatch.setattr(swanlab, "login", lambda **kwargs: logins.append(kwargs))
    values = {"use_swanlab": True, "swanlab_mode": "offline", "swanlab_logdir": str(tmp_path / "swanlog")}
    values.update(swanlab_project="proj", swanlab_run_name="exp", swanlab_api_key="sk-secret")
    config = load_config(values=values)
    callbacks = StageContext(config=config, run_dir=tmp_path, stop=StopRequest()).callbacks()
    callback = callbacks[-1]
    assert isinstance(callback, SwanLabCallback)
    assert logins == [{"api_key": "sk-secret"}]
    args = training_arguments(config, tmp_path / "run")
    (tmp_path / "run").mkdir()
    state, control = TrainerState(), TrainerControl()
    try:
        callback.on_train_begin(args, state, control)
        state.global_step = 1
        callback.on_log(args, state, control, logs={"loss": 1.25, "learning_rate": 0.001})
        run = swanlab.get_run()
        assert (run.name, run.mode) == ("exp", "offline")
    finally:
        swanlab.finish()
    run_dirs = list((tmp_path / "swanlog").glob("run-*"))
    assert len(run_dirs) == 1
    recorded = yaml.safe_load((run_dirs[0] / "files" / "config.yaml").read_text(encoding="utf-8"))
    text = str(recorded)
    assert "lmf_config" in text and "<SWANLAB_API_KEY>" in text and "sk-secret" not in text
    assert b"train/loss" in next(run_dirs[0].glob("*.swanlab")).read_bytes()
    public = yaml.safe_load((tmp_path / "run" / "swanlab_public_config.json").read_text(encoding="utf-8"))
    assert public["name"] == "exp" and public["mode"] == "offline" and Path(public["dir"]) == run_dirs[0]
