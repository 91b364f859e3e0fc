"""Chat targets (run, config, server), a run's inference values, and the conversation file format."""

import json
from pathlib import Path

import pytest
import yaml

from lmf_engine.chat.conversation import (
    Branch,
    Conversation,
    conversation_json,
    from_openai,
    load_conversation,
    save_conversation,
    to_openai,
)
from lmf_engine.chat.errors import ChatError
from lmf_engine.chat.target import ChatTarget, api_key, target_config
from lmf_engine.runs.inference import (
    RunConfigError,
    inference_values,
    prediction_values,
    write_inference_config,
)
from lmf_engine.runs.record import RunRecord, write_run


def _run(root: Path, name: str, **config: object) -> Path:
    run_dir = root / "runs" / name
    run_dir.mkdir(parents=True)
    values = {"model_name_or_path": "models/tiny", "finetuning_type": "lora", "template": "qwen", **config}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(values), encoding="utf-8")
    write_run(run_dir, RunRecord(id="x", name=name, state="finished", cwd=str(root)))
    return run_dir


def test_a_lora_run_gives_its_base_and_adapter_with_relative_paths_resolved_where_it_ran(tmp_path: Path) -> None:
    (tmp_path / "models" / "tiny").mkdir(parents=True)
    run_dir = _run(tmp_path, "lora")
    values = inference_values(run_dir)
    assert values == {
        "model_name_or_path": str(tmp_path / "models" / "tiny"),
        "adapter_name_or_path": str(run_dir),
        "finetuning_type": "lora",
        "template": "qwen",
    }
    assert inference_values(run_dir, base_only=True) == {
        "model_name_or_path": str(tmp_path / "models" / "tiny"),
        "template": "qwen",
    }
    path = write_inference_config(run_dir, "lora")
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["export_dir"] == str(run_dir.parent / "lora-merged")


def test_a_prediction_run_gives_what_it_answered_with_and_a_trained_run_gives_a_prediction_config(
    tmp_path: Path,
) -> None:
    (tmp_path / "models" / "tiny").mkdir(parents=True)
    trained = _run(tmp_path, "lora", dataset="demo_sft", val_size=0.1, dataset_dir="data", cutoff_len=64)
    values = prediction_values(trained, "runs/lora-predict")
    assert values["adapter_name_or_path"] == str(trained) and values["val_size"] == 0.1
    assert (values["do_train"], values["do_predict"], values["predict_with_generate"]) == (False, True, True)
    assert values["output_dir"] == "runs/lora-predict" and values["dataset"] == "demo_sft"
    predicted = _run(tmp_path, "lora-predict", do_train=False, adapter_name_or_path="runs/lora")
    assert inference_values(predicted)["adapter_name_or_path"] == str(trained)
    with pytest.raises(RunConfigError, match="no eval_dataset or val_size"):
        prediction_values(_run(tmp_path, "plain"), "runs/x")


def test_a_full_run_is_its_own_model_and_a_folder_without_a_config_says_so(tmp_path: Path) -> None:
    run_dir = _run(tmp_path, "full", finetuning_type="full", stage="rm")
    assert inference_values(run_dir) == {"model_name_or_path": str(run_dir), "template": "qwen", "stage": "rm"}
    lf = tmp_path / "lf_out"
    lf.mkdir()
    with pytest.raises(RunConfigError, match=r"lf_out has no config\.yaml"):
        inference_values(lf)
    (lf / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "/m"}), encoding="utf-8")
    assert inference_values(lf)["model_name_or_path"] == "/m"


def test_targets_load_their_configs_and_remember_no_key(tmp_path: Path, tiny_model_dir: Path) -> None:
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "chat.yaml").write_text(
        f"model_name_or_path: {tiny_model_dir}\nadapter_name_or_path: runs/a\ntemplate: qwen\n", encoding="utf-8"
    )
    (tmp_path / "runs" / "a").mkdir(parents=True)
    config = target_config(ChatTarget("config", "configs/chat.yaml", backend="vllm"), tmp_path)
    assert config is not None
    assert config.get("adapter_name_or_path") == str(tmp_path / "runs" / "a")
    assert config.model.infer_backend == "vllm"
    with pytest.raises(ChatError, match="does not exist"):
        target_config(ChatTarget("config", "configs/nope.yaml"), tmp_path)
    server = ChatTarget("url", "http://box/v1", key_env="BOX_KEY")
    assert target_config(server) is None
    assert ChatTarget.from_dict(server.to_dict()) == server
    assert "sk-" not in json.dumps(server.to_dict())
    with pytest.raises(ChatError, match="BOX_KEY"):
        api_key(server, {})
    assert api_key(server, {"BOX_KEY": "sk-1"}) == "sk-1"
    with pytest.raises(ValueError, match="environment variable name"):
        ChatTarget("url", "http://box", key_env="sk-secret key")
    assert ChatTarget("run", "runs/a", base_only=True).label == "run a (base model)"


def test_conversation_files_use_openai_roles_and_read_back() -> None:
    messages = [
        {"role": "user", "content": "Weather?"},
        {"role": "function", "content": json.dumps([{"name": "weather", "arguments": {"city": "Oslo"}}])},
        {"role": "observation", "content": "4 C"},
        {"role": "assistant", "content": "It is 4 C."},
    ]
    openai = to_openai(messages, "S")
    assert openai[0] == {"role": "system", "content": "S"}
    assert openai[2]["tool_calls"][0]["function"] == {"name": "weather", "arguments": '{"city": "Oslo"}'}
    assert openai[3] == {"role": "tool", "content": "4 C", "tool_call_id": "call_1_0"}
    assert from_openai(openai) == ("S", messages)
    with pytest.raises(ValueError, match=r"messages\[0\]: needs a role"):
        from_openai([{"role": "robot", "content": "x"}])


def test_ab_files_keep_both_branches_and_the_first_as_messages(tmp_path: Path) -> None:
    a = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "base says"}]
    b = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "tuned says"}]
    conversation = Conversation(None, a, {}, None, [Branch("base", a), Branch("tuned", b)])
    data = json.loads(conversation_json(conversation))
    assert data["messages"] == data["branches"][0]["messages"]
    path = tmp_path / "ab.json"
    save_conversation(path, conversation)
    loaded = load_conversation(path)
    assert loaded.messages == a and [(br.target, br.messages) for br in loaded.branches] == [("base", a), ("tuned", b)]
