"""Predicting with infer_backend: vllm, against a stand-in ``vllm`` package (this machine has no vLLM or GPU): the
prompts, sampling parameters and engine arguments it is given, the files written, and a resume."""

import importlib.machinery
import json
import sys
import types
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from train_support import copy_workspace

from lmf_engine.config import load_config
from lmf_engine.runs.events import EventWriter
from lmf_engine.train.common import StageContext
from lmf_engine.train.signals import StopRequest


class FakeLLM:
    made: ClassVar[list[dict[str, Any]]] = []
    prompts: ClassVar[list[list[int]]] = []

    def __init__(self, **kwargs: Any) -> None:
        FakeLLM.made.append(kwargs)

    def generate(self, inputs: list[dict[str, Any]], params: Any, lora_request: Any = None) -> list[Any]:
        FakeLLM.prompts += [item["prompt_token_ids"] for item in inputs]
        self.params, self.lora = params, lora_request
        answer = types.SimpleNamespace
        return [answer(outputs=[answer(text=f"{len(i['prompt_token_ids'])} tokens")]) for i in inputs]


@pytest.fixture
def fake_vllm(monkeypatch: pytest.MonkeyPatch) -> type[FakeLLM]:
    module = types.ModuleType("vllm")
    module.__spec__ = importlib.machinery.ModuleSpec("vllm", None)
    module.__version__ = "0.11.0"  # type: ignore[attr-defined]
    module.LLM = FakeLLM  # type: ignore[attr-defined]
    module.SamplingParams = dict  # type: ignore[attr-defined]
    request = types.ModuleType("vllm.lora.request")
    request.LoRARequest = lambda *args: args  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vllm", module)
    monkeypatch.setitem(sys.modules, "vllm.lora", types.ModuleType("vllm.lora"))
    monkeypatch.setitem(sys.modules, "vllm.lora.request", request)
    FakeLLM.made, FakeLLM.prompts = [], []
    return FakeLLM


def run_predict(workspace: Path, resuming: bool = False) -> Path:
    from lmf_engine.train import sft

    values = yaml.safe_load((workspace / "configs" / "sft_lora.yaml").read_text(encoding="utf-8"))
    values.update(do_train=False, do_predict=True, predict_with_generate=True, infer_backend="vllm",
                  eval_dataset="demo_identity", val_size=0.0, eval_strategy="no", max_new_tokens=12,
                  output_dir="runs/vllm", overwrite_cache=False)  # fmt: skip
    config = load_config(values=values)
    run_dir = workspace / "runs" / "vllm"
    run_dir.mkdir(parents=True, exist_ok=True)
    with EventWriter(run_dir) as events:
        sft.run(StageContext(config, run_dir, StopRequest(), events, resuming=resuming))
    return run_dir


def test_vllm_predictions_are_written_and_scored_like_the_transformers_ones(
    demo_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_vllm: type[FakeLLM]
) -> None:
    workspace = copy_workspace(demo_workspace, tmp_path)
    monkeypatch.chdir(workspace)
    run_dir = run_predict(workspace)
    rows = [json.loads(line) for line in (run_dir / "generated_predictions.jsonl").read_text("utf-8").splitlines()]
    assert len(rows) == 41 and rows[0]["predict"] == f"{len(fake_vllm.prompts[0])} tokens"
    assert rows[0]["prompt"].startswith("system\nYou are Qwen") and rows[0]["prompt"].endswith("assistant\n")
    assert rows[0]["label"].startswith("I am {{name}}")
    (engine,) = fake_vllm.made
    assert engine["model"].endswith("tiny-qwen2") and engine["max_model_len"] == 256 + 12
    assert engine["enable_lora"] is False
    results = json.loads((run_dir / "predict_results.json").read_text(encoding="utf-8"))
    assert {"predict_bleu-4", "predict_rouge-l", "predict_exact_match", "predict_runtime"} <= set(results)
    assert results == json.loads((run_dir / "all_results.json").read_text(encoding="utf-8"))
    progress = [json.loads(line) for line in (run_dir / "events.jsonl").read_text("utf-8").splitlines()]
    assert progress[-1]["kind"] == "progress" and progress[-1]["step"] == progress[-1]["total_steps"] == 41


def test_vllm_predictions_resume_and_refuse_training(
    demo_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_vllm: type[FakeLLM]
) -> None:
    workspace = copy_workspace(demo_workspace, tmp_path)
    monkeypatch.chdir(workspace)
    run_dir = run_predict(workspace)
    whole = (run_dir / "generated_predictions.jsonl").read_text(encoding="utf-8")
    (run_dir / "generated_predictions.partial.jsonl").write_text("".join(whole.splitlines(True)[:30]), "utf-8")
    fake_vllm.prompts = []
    run_predict(workspace, resuming=True)
    assert len(fake_vllm.prompts) == 11  # only the rows not written before
    assert (run_dir / "generated_predictions.jsonl").read_text(encoding="utf-8") == whole
    from lmf_engine.train import sft

    values = yaml.safe_load((workspace / "configs" / "sft_lora.yaml").read_text(encoding="utf-8"))
    values.update(do_predict=True, predict_with_generate=True, infer_backend="vllm", overwrite_cache=False)
    config = load_config(values=values)
    with pytest.raises(ValueError, match="infer_backend: vllm predicts only"):
        sft.run(StageContext(config, tmp_path / "out", StopRequest(), None))
