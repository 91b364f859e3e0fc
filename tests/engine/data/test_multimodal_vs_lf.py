"""Multimodal rows encoded as LLaMA-Factory 0.9.5 encodes them: the demo's picture datasets with the demo's tiny
Qwen2-VL and LLaVA models give the same input ids, labels and media columns (goldens by scripts/lf_mm_goldens.py)."""

import json
from pathlib import Path
from typing import Any

import pytest

from lmf_engine.config import load_config
from lmf_engine.data.multimodal import Media, MediaBatch
from lmf_engine.data.pipeline import prepare_data

FIXTURES = Path(__file__).parents[2] / "fixtures" / "multimodal"
CASES = sorted(path.stem for path in FIXTURES.glob("*.json"))
LF_ONLY_KEYS = {"output_dir", "report_to", "preprocessing_num_workers"}


def golden(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def test_every_case_has_a_golden() -> None:
    expected = {"qwen2_vl_sft", "qwen2_vl_sft_pixels", "qwen2_vl_dpo", "qwen3_vl_sft", "llava_sft", "llava_dpo"}
    expected |= {"llava_next_sft", "gemma3_sft", "gemma3_kto", "paligemma_sft", "paligemma_dpo", "pixtral_sft"}
    expected |= {"qwen2_vl_video_sft", "qwen2_vl_video_maxlen", "qwen2_vl_video_frames", "qwen3_vl_video_sft"}
    expected |= {"qwen3_vl_video_frames", "pixtral_dpo", "qwen2_audio_sft"}
    expected |= {"intern_vl_sft", "intern_vl_crop", "intern_vl_video", "glm4v_sft", "glm4v_dpo"}
    assert expected | {"mllama_sft", "mllama_dpo", "qwen2_omni_image", "qwen2_omni_video", "qwen2_omni_audio"} <= set(
        CASES
    )


def _as_lmf_row(row: dict[str, Any]) -> dict[str, Any]:
    """LLaMA-Factory's row with a video given as frames written as lmf writes it (frame paths joined by \\n)."""
    videos = row.get("videos")
    if not videos:
        return row
    return {**row, "videos": ["\n".join(video) if isinstance(video, list) else video for video in videos]}


@pytest.mark.parametrize("name", CASES)
def test_rows_equal_llamafactory(name: str, workspace: Path) -> None:
    expected = golden(name)
    expected["rows"] = [_as_lmf_row(row) for row in expected["rows"]]
    values = {k: v for k, v in expected["config"].items() if k not in LF_ONLY_KEYS}
    config = load_config(values=values)
    prepared = prepare_data(config, use_cache=False)
    rows = [dict(row) for row in prepared.train]
    assert sorted(rows[0]) == expected["columns"]
    assert rows == expected["rows"]


def _summary_matches(ours: Any, theirs: dict[str, Any] | list[Any]) -> None:
    """``ours``, a tensor, against the golden's summary of LLaMA-Factory's (a plain list where it gave one)."""
    import torch

    assert isinstance(ours, torch.Tensor)
    if isinstance(theirs, list):
        assert ours.tolist() == theirs
        return
    assert list(ours.shape) == theirs["shape"]
    assert str(ours.dtype).removeprefix("torch.") == theirs["dtype"]
    if "values" in theirs:
        assert ours.tolist() == theirs["values"]
        return
    flat = ours.double().flatten()  # PIL's resampling differs in the last bits between releases (10.4 made these)
    assert float(flat.sum()) == pytest.approx(theirs["sum"], rel=1e-4, abs=1e-3)
    assert float(flat.abs().sum()) == pytest.approx(theirs["abs_sum"], rel=1e-4, abs=1e-3)
    assert flat[: len(theirs["head"])].tolist() == pytest.approx(theirs["head"], rel=1e-4, abs=1e-4)


@pytest.mark.parametrize("name", CASES)
def test_media_inputs_equal_llamafactory(name: str, workspace: Path) -> None:
    """The model inputs of the first rows' images (pixel values, grids, Gemma 3's and PaliGemma's token types), as
    LLaMA-Factory's plugin makes them for the same row."""
    import torch

    from lmf_engine.data.pipeline import media_encoder
    from lmf_engine.data.templates import get_template
    from lmf_engine.model.tokenizer import load_tokenizer

    expected = golden(name)
    values = {k: v for k, v in expected["config"].items() if k not in LF_ONLY_KEYS}
    config = load_config(values=values)
    template = get_template(config.data.template)
    encoder = media_encoder(config, template)
    tokenizer = load_tokenizer(config)
    assert encoder.plugin is not None
    image_id = tokenizer.convert_tokens_to_ids(template.media_tokens.image) if template.media_tokens.image else -1
    picked = expected.get("mm_rows") or range(len(expected["mm_inputs"]))
    for index, theirs in zip(picked, expected["mm_inputs"], strict=True):
        row = _as_lmf_row(expected["rows"][index])
        images = row.get("images") or []
        media = Media(images, row.get("videos") or [], row.get("audios") or [])
        ids = row.get("input_ids") or row["chosen_input_ids"]
        ours = encoder.plugin.batch_inputs(MediaBatch(media, [ids], [len(images)]), encoder.processor, tokenizer)
        types = encoder.plugin.token_types(ids, len(images), image_id, encoder.processor)
        if images and types is not None:
            ours["token_type_ids"] = torch.tensor([types])
        assert sorted(ours) == sorted(theirs)
        for key, summary in theirs.items():
            _summary_matches(ours[key], summary)
