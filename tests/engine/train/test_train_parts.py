"""The training pieces on their own: collator, training arguments, resume rules, stop signals, NaN detection."""

import json
import os
import signal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from lmf_engine.config import load_config
from lmf_engine.data.processors import IGNORE_INDEX


class _Tokenizer:
    pad_token_id = 0
    padding_side = "right"


def test_sft_collator_pads_to_a_multiple_of_eight_on_either_side() -> None:
    from lmf_engine.train.collators import SFTCollator

    rows = [
        {"input_ids": [5, 6, 7], "attention_mask": [1, 1, 1], "labels": [IGNORE_INDEX, 6, 7]},
        {"input_ids": [5] * 10, "attention_mask": [1] * 10, "labels": [5] * 10},
    ]
    tokenizer = _Tokenizer()
    batch = SFTCollator(tokenizer)(rows)
    assert batch["input_ids"].shape == (2, 16)
    assert batch["input_ids"][0].tolist() == [5, 6, 7] + [0] * 13
    assert batch["labels"][0].tolist() == [IGNORE_INDEX, 6, 7] + [IGNORE_INDEX] * 13
    assert batch["attention_mask"][0].sum() == 3
    tokenizer.padding_side = "left"
    batch = SFTCollator(tokenizer, pad_to_multiple_of=None, label_pad_token_id=0)(rows)
    assert batch["input_ids"].shape == (2, 10)
    assert batch["labels"][0].tolist() == [0] * 7 + [IGNORE_INDEX, 6, 7]
    prediction = [  # generation: the labels are the answer alone, padded to their own longest
        {"input_ids": [5, 6], "attention_mask": [1, 1], "labels": [7, 8, 9, 10]},
        {"input_ids": [5, 6, 7], "attention_mask": [1, 1, 1], "labels": [9]},
    ]
    batch = SFTCollator(tokenizer, pad_to_multiple_of=None)(prediction)
    assert batch["input_ids"].tolist() == [[0, 5, 6], [5, 6, 7]]
    assert batch["labels"].tolist() == [[7, 8, 9, 10], [IGNORE_INDEX] * 3 + [9]]


def test_neat_packing_gives_a_block_diagonal_causal_mask() -> None:
    import torch

    from lmf_engine.train.collators import SFTCollator

    row = {"input_ids": [1, 2, 3, 4, 5, 0], "attention_mask": [1, 1, 2, 2, 2, 0], "labels": [1] * 6}
    row["position_ids"] = [0, 1, 0, 1, 2, 0]
    batch = SFTCollator(_Tokenizer(), pad_to_multiple_of=None, neat_packing=True)([row])
    allowed = (batch["attention_mask"][0, 0] == 0).int().tolist()
    assert allowed == [
        [1, 0, 0, 0, 0, 0],
        [1, 1, 0, 0, 0, 0],
        [0, 0, 1, 0, 0, 0],
        [0, 0, 1, 1, 0, 0],
        [0, 0, 1, 1, 1, 0],
        [0, 0, 0, 0, 0, 0],
    ]
    assert batch["attention_mask"].dtype == torch.float32
    assert batch["position_ids"][0].tolist() == [0, 1, 0, 1, 2, 0]


def test_training_arguments_on_the_cpu(tmp_path: Path) -> None:
    from lmf_engine.train.args import training_arguments

    config = load_config(
        values={"bf16": True, "warmup_ratio": 0.1, "output_dir": "elsewhere", "cutoff_len": 128, "report_to": "none"}
    )
    args = training_arguments(config, tmp_path)
    assert args.output_dir == str(tmp_path)
    assert args.use_cpu and not args.bf16 and not args.fp16
    assert args.warmup_steps == 0.1
    assert args.generation_max_length == 128
    assert args.label_names == ["labels"] and not args.remove_unused_columns
    assert args.report_to == []
    args = training_arguments(
        load_config(values={"neftune_noise_alpha": 5, "lr_scheduler_kwargs": '{"a": 1}'}), tmp_path
    )
    assert args.neftune_noise_alpha == 5 and args.lr_scheduler_kwargs == {"a": 1}


def test_the_top_level_fsdp_layer_key_goes_into_fsdp_config(tmp_path: Path) -> None:
    """LLaMA-Factory's fp8 FSDP example sets transformers 4's ``fsdp_transformer_layer_cls_to_wrap``."""
    from lmf_engine.train.args import fsdp_config_with_layer

    wrap = "transformer_layer_cls_to_wrap"
    assert fsdp_config_with_layer(None, "LlamaDecoderLayer") == {wrap: ["LlamaDecoderLayer"]}
    given = {wrap: ["Qwen2DecoderLayer"], "activation_checkpointing": True}
    assert fsdp_config_with_layer(given, "LlamaDecoderLayer") == given
    file = tmp_path / "fsdp.json"
    file.write_text('{"min_num_params": 0}')
    assert fsdp_config_with_layer(str(file), "A, B") == {"min_num_params": 0, wrap: ["A", "B"]}
    with pytest.raises(ValueError, match=r"^fsdp_config: cannot read '.*missing.json' as JSON"):
        fsdp_config_with_layer(str(tmp_path / "missing.json"), "A")


def _checkpoint(run_dir: Path, step: int) -> Path:
    folder = run_dir / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "trainer_state.json").write_text("{}")
    return folder


def test_resume_rules(tmp_path: Path) -> None:
    from lmf_engine.train.args import ResumeError, resume_checkpoint

    train = load_config(values={"do_train": True, "dataset": "x"})
    with pytest.raises(ResumeError, match="nothing to resume"):
        resume_checkpoint(train, tmp_path, resume=True)
    assert resume_checkpoint(train, tmp_path, resume=False) is None
    (tmp_path / "adapter_model.safetensors").write_bytes(b"")
    with pytest.raises(ResumeError, match="already holds a trained model; set overwrite_output_dir"):
        resume_checkpoint(train, tmp_path, resume=False)
    _checkpoint(tmp_path, 5)
    newest = _checkpoint(tmp_path, 12)
    (tmp_path / "checkpoint-30").mkdir()
    assert resume_checkpoint(train, tmp_path, resume=True) == str(newest)
    assert resume_checkpoint(train, tmp_path, resume=False) == str(newest)
    fresh = load_config(values={"do_train": True, "dataset": "x", "overwrite_output_dir": True})
    assert resume_checkpoint(fresh, tmp_path, resume=False) is None


def test_trim_trainer_log_drops_lines_after_the_checkpoint(tmp_path: Path) -> None:
    from lmf_engine.train.callbacks import trim_trainer_log

    lines = [json.dumps({"current_steps": step, "loss": 1.0}) for step in (1, 2, 3, 4)]
    (tmp_path / "trainer_log.jsonl").write_text("\n".join(lines) + "\n")
    trim_trainer_log(tmp_path, 2)
    kept = [json.loads(line)["current_steps"] for line in (tmp_path / "trainer_log.jsonl").read_text().splitlines()]
    assert kept == [1, 2]


def test_stop_signal_raises_before_the_loop_and_sets_a_flag_inside() -> None:
    from lmf_engine.train.signals import StopRequest, StopRequested

    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        stop = StopRequest().install()
        with pytest.raises(StopRequested):
            os.kill(os.getpid(), signal.SIGTERM)
        stop = StopRequest().install()
        stop.enter_loop()
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested
        stop.leave_loop()
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def test_run_callback_turns_a_stop_into_save_and_stop(tmp_path: Path) -> None:
    from transformers import TrainerControl, TrainerState

    from lmf_engine.runs.events import EventWriter, read_events
    from lmf_engine.train.callbacks import RunCallback
    from lmf_engine.train.signals import StopRequest

    stop = StopRequest()
    callback = RunCallback(tmp_path, EventWriter(tmp_path), stop)
    state = TrainerState(max_steps=10, global_step=0)
    args = SimpleNamespace(device="cpu")
    callback.on_train_begin(args, state, TrainerControl())
    state.global_step = 3
    control = TrainerControl()
    callback.on_step_end(args, state, control)
    assert not control.should_save
    stop.requested = True
    callback.on_step_end(args, state, control)
    assert control.should_save and control.should_training_stop
    state.log_history.append({"loss": 1.5, "learning_rate": 0.1, "epoch": 0.3, "step": 3})
    callback.on_log(args, state, control, logs={"loss": 1.5, "learning_rate": 0.1, "epoch": 0.3})
    line = json.loads((tmp_path / "trainer_log.jsonl").read_text())
    assert {k: line[k] for k in ("current_steps", "total_steps", "loss", "lr", "percentage")} == {
        "current_steps": 3,
        "total_steps": 10,
        "loss": 1.5,
        "lr": 0.1,
        "percentage": 30.0,
    }
    events, _ = read_events(tmp_path)
    assert [e["kind"] for e in events] == ["progress", "progress", "progress", "log"]
    assert events[-1]["lr"] == 0.1


class _Base:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state = SimpleNamespace(global_step=6)

    def training_step(self, *args: Any, **kwargs: Any) -> Any:
        import torch

        return torch.tensor(float("nan"))


def test_a_nan_loss_fails_fast() -> None:
    from lmf_engine.train.trainer import NonFiniteLossError, WorkbenchTrainerMixin

    class Trainer(WorkbenchTrainerMixin, _Base):
        pass

    with pytest.raises(NonFiniteLossError, match=r"loss became nan at step 7: training diverged; lower learning_rate"):
        Trainer(lmf_config=load_config()).training_step()


def test_loraplus_groups_split_a_and_b(tiny_model_dir: Path) -> None:
    from lmf_engine.model.loader import load_model
    from lmf_engine.model.tokenizer import load_tokenizer
    from lmf_engine.train.trainer import loraplus_param_groups

    config = load_config(values={"model_name_or_path": str(tiny_model_dir), "loraplus_lr_ratio": 16})
    model = load_model(config, load_tokenizer(config), is_trainable=True)
    trainer = SimpleNamespace(
        args=SimpleNamespace(learning_rate=1e-3, weight_decay=0.01),
        get_decay_parameter_names=lambda m: [n for n, _ in m.named_parameters()],
    )
    groups = loraplus_param_groups(trainer, model, config)
    assert [g["lr"] for g in groups] == [1e-3, 16e-3, 16e-3, 1e-6]
    assert len(groups[0]["params"]) == len(groups[1]["params"]) > 0


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_a_neatly_packed_example_sees_only_itself(tiny_model_dir: Path, attention: str) -> None:
    """With the block-diagonal mask and restarted positions, a packed example's logits equal its logits alone."""
    import torch
    from transformers import AutoModelForCausalLM

    from lmf_engine.train.collators import SFTCollator

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, attn_implementation=attention).eval()
    first, second = [11, 12, 13, 14], [21, 22, 23]
    row = {
        "input_ids": first + second + [0],
        "attention_mask": [1] * 4 + [2] * 3 + [0],
        "labels": first + second + [IGNORE_INDEX],
        "position_ids": [0, 1, 2, 3, 0, 1, 2, 0],
    }
    batch = SFTCollator(_Tokenizer(), pad_to_multiple_of=None, neat_packing=True, attn_implementation=attention)([row])
    with torch.no_grad():
        packed = model(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], position_ids=batch["position_ids"]
        ).logits
        alone = model(input_ids=torch.tensor([second])).logits
    torch.testing.assert_close(packed[0, 4:7], alone[0], rtol=1e-4, atol=1e-4)


def test_failure_messages() -> None:
    from lmf_engine.model.errors import ModelLoadError
    from lmf_engine.train.entry import describe_error

    class OutOfMemoryError(RuntimeError):
        pass

    oom = describe_error(OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore"))
    assert oom.startswith("out of memory (CUDA out of memory. Tried to allocate 2.00 GiB): lower per_device")
    assert describe_error(ModelLoadError("model_name_or_path: 'x' does not exist")) == (
        "model_name_or_path: 'x' does not exist"
    )
    assert describe_error(KeyError("labels")) == "KeyError: 'labels'"


def test_loss_plot_is_drawn_from_the_trainer_state(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from lmf_engine.train.common import plot_loss

    history = [{"step": step, "loss": 3.0 / step} for step in range(1, 6)] + [{"step": 5, "eval_loss": 1.0}]
    (tmp_path / "trainer_state.json").write_text(json.dumps({"log_history": history}))
    assert plot_loss(tmp_path, ["loss", "eval_loss", "eval_accuracy"]) == [
        tmp_path / "training_loss.png",
        tmp_path / "training_eval_loss.png",
    ]
    assert (tmp_path / "training_loss.png").read_bytes().startswith(b"\x89PNG")


def test_the_child_needs_a_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lmf_engine.train.entry import main

    assert main([str(tmp_path / "missing")]) == 2
    assert "config.yaml does not exist" in capsys.readouterr().err
