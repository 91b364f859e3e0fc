"""Vision-language models end to end: the demo's tiny Qwen2-VL and LLaVA trained on the demo pictures (every stage
that takes images), their processor files carried into checkpoints, outputs and exports, the export loading with its
image processor. LLaMA-Factory equality of the losses is in test_methods_vs_lf.py (vlm_* cases)."""

import math
from pathlib import Path

import pytest
from train_support import copy_workspace, losses, prepare_run, record, run_child
from typer.testing import CliRunner

from lmf_engine.cli.main import app
from lmf_engine.model.processor_files import PROCESSOR_FILES

pytestmark = pytest.mark.slow
QWEN = {"model_name_or_path": "models/tiny-qwen2-vl", "template": "qwen2_vl"}
GEMMA3 = {"model_name_or_path": "models/tiny-gemma3", "template": "gemma3"}


@pytest.fixture(scope="module")
def workspace(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_workspace(demo_workspace, tmp_path_factory.mktemp("vlm"))


@pytest.mark.parametrize(
    ("name", "config", "overrides"),
    [
        ("sft", "sft_vlm_lora", {"max_steps": 4, "save_steps": 2}),
        ("dpo_llava", "dpo_vlm_lora", {"max_steps": 4, "save_steps": 2}),
        ("kto_qwen", "sft_vlm_lora", {**QWEN, "stage": "kto", "dataset": "demo_mllm_kto", "max_steps": 4}),
        ("rm_qwen", "sft_vlm_lora", {**QWEN, "stage": "rm", "dataset": "demo_mllm_dpo", "max_steps": 4}),
        ("dpo_gemma3", "dpo_vlm_lora", {**GEMMA3, "max_steps": 4, "save_steps": 2}),
        ("sft_audio", "sft_audio_lora", {"model_name_or_path": "models/tiny-qwen2-audio", "max_steps": 2,
                                         "save_steps": 2}),
        ("sft_video", "sft_video_lora", {"model_name_or_path": "models/tiny-qwen2-vl", "max_steps": 2,
                                         "save_steps": 2}),
        ("kto_paligemma", "kto_vlm_lora", {"model_name_or_path": "models/tiny-paligemma", "template": "paligemma",
                                           "max_steps": 2, "save_steps": 2}),
        ("full_unfrozen", "sft_vlm_lora", {"finetuning_type": "full", "freeze_vision_tower": False,
                                           "freeze_multi_modal_projector": False, "learning_rate": 1.0e-4,
                                           "max_steps": 2}),
    ],
)  # fmt: skip
def test_each_stage_trains_on_pictures_and_keeps_the_processor(
    workspace: Path, name: str, config: str, overrides: dict
) -> None:
    run_dir = prepare_run(workspace, config, f"vlm_{name}", **overrides)
    code = run_child(run_dir)
    assert code == 0 and record(run_dir)["state"] == "finished", (run_dir / "stdout.log").read_text()[-3000:]
    steps = losses(run_dir)
    assert len(steps) == overrides["max_steps"] and all(math.isfinite(loss) for _, loss in steps)
    model_dir = workspace / (
        overrides.get("model_name_or_path") or ("models/tiny-llava" if "llava" in name else QWEN["model_name_or_path"])
    )
    expected = [name for name in PROCESSOR_FILES if (model_dir / name).is_file()]
    assert expected and all((run_dir / file).read_bytes() == (model_dir / file).read_bytes() for file in expected)
    for checkpoint in run_dir.glob("checkpoint-*"):
        assert all((checkpoint / file).is_file() for file in expected), checkpoint


def test_the_vision_tower_stays_frozen_unless_asked(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lmf_engine.config import load_config
    from lmf_engine.model.loader import load_model
    from lmf_engine.model.tokenizer import load_tokenizer

    def trainable(**values: object) -> set[str]:
        config = load_config(values={**QWEN, **values})
        model = load_model(config, load_tokenizer(config), is_trainable=True)
        return {name.split(".")[1] for name, param in model.named_parameters() if param.requires_grad}

    monkeypatch.chdir(workspace)
    assert trainable(finetuning_type="full") == {"language_model"}
    assert trainable(finetuning_type="full", freeze_vision_tower=False) == {"language_model", "visual"}
    assert trainable(finetuning_type="full", freeze_language_model=True, freeze_multi_modal_projector=False) == {
        "visual"
    }  # the merger (projector) lives in visual
    lora = load_model(load_config(values=QWEN), load_tokenizer(load_config(values=QWEN)), is_trainable=True)
    assert not [name for name, param in lora.named_parameters() if param.requires_grad and ".visual." in name]


def test_export_merges_and_carries_the_processor(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from lmf_engine.data.multimodal import load_media_processor

    monkeypatch.chdir(workspace)
    for run, model, template in (("vlm_sft", QWEN["model_name_or_path"], "qwen2_vl"),
                                 ("vlm_dpo_llava", "models/tiny-llava", "llava")):  # fmt: skip
        export_dir = workspace / "exports" / run
        config = workspace / f"{run}_export.yaml"
        config.write_text(
            f"model_name_or_path: {model}\nadapter_name_or_path: runs/{run}\ntemplate: {template}\n"
            f"finetuning_type: lora\nexport_dir: {export_dir}\n"
        )
        result = CliRunner().invoke(app, ["export", str(config)])
        assert result.exit_code == 0, result.output
        assert all((export_dir / file).is_file() for file in PROCESSOR_FILES if (workspace / model / file).is_file())
        AutoModelForImageTextToText.from_pretrained(export_dir)
        assert load_media_processor(str(export_dir)).image_processor is not None
        if template == "llava":  # LLaVA's processor class needs no torchvision: AutoProcessor loads it whole
            assert type(AutoProcessor.from_pretrained(export_dir)).__name__ == "LlavaProcessor"


def test_a_row_whose_image_tokens_were_cut_is_named_before_the_model_fails(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lmf_engine.config import load_config
    from lmf_engine.data.pipeline import media_encoder, template_for
    from lmf_engine.model.tokenizer import load_tokenizer
    from lmf_engine.train.media_batch import MediaCollation

    monkeypatch.chdir(workspace)
    config = load_config(values={"model_name_or_path": "models/tiny-llava-next", "template": "llava_next"})
    tokenizer = load_tokenizer(config)
    collation = MediaCollation(media_encoder(config, template_for(config, tokenizer)), tokenizer)
    image = "data/demo_images/blue_square.png"
    image_id = tokenizer.convert_tokens_to_ids("<image>")
    whole = {"input_ids": [1] + [image_id] * 70, "attention_mask": [1] * 71, "labels": [-100] * 71, "images": [image]}
    rows, media = collation.split([whole])
    assert list(media.media.images) == [image] and "images" not in rows[0]
    cut = {**whole, "input_ids": whole["input_ids"][:60]}
    with pytest.raises(
        ValueError, match=r"keeps 59 of its 70 image tokens .*raise cutoff_len or lower image_max_pixels"
    ):
        collation.split([cut])


def test_a_whole_qwen_omni_model_loads_its_thinker(workspace: Path, tmp_path: Path) -> None:
    """A Qwen2.5-Omni checkpoint (thinker, talker and vocoder) loads as LLaMA-Factory loads it: its thinker alone."""
    import shutil

    import torch
    from transformers import AutoConfig, Qwen2_5OmniConfig, Qwen2_5OmniForConditionalGeneration

    from lmf_engine.config import load_config
    from lmf_engine.model.loader import load_model
    from lmf_engine.model.tokenizer import load_tokenizer

    thinker = workspace / "models" / "tiny-qwen2-omni"
    whole = tmp_path / "omni"
    config = Qwen2_5OmniConfig(thinker_config=AutoConfig.from_pretrained(thinker).to_dict(), enable_audio_output=False)
    Qwen2_5OmniForConditionalGeneration(config).save_pretrained(whole)
    torch.save({"speaker": {"cond": torch.zeros(1), "ref_mel": torch.zeros(1), "bos_token": 0}}, whole / "spk_dict.pt")
    for name in ("tokenizer.json", "tokenizer_config.json", "preprocessor_config.json", "processor_config.json"):
        shutil.copy(thinker / name, whole / name)
    values = {"model_name_or_path": str(whole), "template": "qwen2_omni"}
    model = load_model(load_config(values=values), load_tokenizer(load_config(values=values)), is_trainable=False)
    assert type(model).__name__ == "Qwen2_5OmniThinkerForConditionalGeneration"
