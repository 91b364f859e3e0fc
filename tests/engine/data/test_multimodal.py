"""Multimodal data beyond the LLaMA-Factory goldens: what is refused and why, the resize arithmetic, the cache key."""

from pathlib import Path

import pytest

from lmf_engine.config import load_config
from lmf_engine.data.errors import DataError
from lmf_engine.data.multimodal.images import header_size, load_image, regularized_size
from lmf_engine.data.pipeline import prepare_data

VLM = ["configs/sft_vlm_lora.yaml"]


def vlm_config(*overrides: str):  # type: ignore[no-untyped-def]
    return load_config(*VLM, ["overwrite_cache=false", *overrides])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["template=qwen"], "dataset demo_mllm has images, and template qwen takes text only"),
        (
            ["template=minicpm_v"],
            "template minicpm_v's plugin minicpm_v with those media is not supported in lmf workbench",
        ),
    ],
)
def test_media_with_a_template_that_cannot_take_them_is_refused_before_loading(
    workspace: Path, overrides: list[str], message: str
) -> None:
    with pytest.raises(DataError, match=message):
        prepare_data(vlm_config(*overrides))


def test_videos_with_a_plugin_of_images_only_are_refused_with_the_reason(workspace: Path) -> None:
    config = vlm_config("model_name_or_path=models/tiny-llava", "template=llava", "dataset=demo_video")
    with pytest.raises(
        DataError, match=r"plugin llava with those media is not supported .*qwen2_vl \(images, videos\)"
    ):
        prepare_data(config)


def test_qwen2_vl_video_rows_count_sampled_frames(workspace: Path) -> None:
    """A video's tokens follow LLaMA-Factory's sampling: video_fps frames a second, at most video_maxlen, made even,
    two frames a temporal patch; a batch of video rows carries the video pixels and the 3-D positions."""
    from lmf_engine.data.pipeline import media_encoder
    from lmf_engine.train.collators import SFTCollator
    from lmf_engine.train.media_batch import MediaCollation

    def video_tokens(*overrides: str) -> list[int]:
        prepared = prepare_data(vlm_config("dataset=demo_video", *overrides))
        pad = prepared.tokenizer.convert_tokens_to_ids("<|video_pad|>")
        return [row["input_ids"].count(pad) for row in prepared.train]

    # red_dot_right: 2 s at 10 fps, 64x48 -> 4 frames of 56x56 (the min pixels): 2 x 4 x 4 patches, 8 tokens
    assert video_tokens()[0] == 8
    assert video_tokens("video_fps=10", "video_maxlen=5")[0] == 12  # 5 frames, padded to 6: 3 temporal patches
    config = vlm_config("dataset=demo_video")
    prepared = prepare_data(config)
    encoder = media_encoder(config, prepared.template)
    collator = SFTCollator(prepared.tokenizer, media=MediaCollation(encoder, prepared.tokenizer))
    batch = collator([dict(prepared.train[9]), dict(prepared.train[10])])  # a picture and a video; two videos
    assert batch["video_grid_thw"].tolist() == [[2, 4, 4], [2, 4, 4], [2, 4, 6]]
    assert list(batch["pixel_values_videos"].shape) == [32 + 32 + 48, 3 * 2 * 14 * 14]
    assert batch["pixel_values"].shape[0] == 24


def test_an_unreadable_video_is_named(workspace: Path, tmp_path: Path) -> None:
    from lmf_engine.data.media_paths import MediaError
    from lmf_engine.data.multimodal.videos import video_shape

    broken = tmp_path / "clip.mov"
    broken.write_bytes(b"not a video")
    with pytest.raises(MediaError, match="cannot open the video"):
        video_shape(str(broken), 2.0, 128)


def test_a_media_key_changes_the_cache_key_and_the_tokens(workspace: Path) -> None:
    first = prepare_data(vlm_config())
    smaller = prepare_data(vlm_config("image_max_pixels=3000"))
    assert not smaller.from_cache and smaller.cache != first.cache
    assert len(smaller.train[2]["input_ids"]) < len(first.train[2]["input_ids"])  # the 1000x700 picture
    assert prepare_data(vlm_config()).from_cache


@pytest.mark.parametrize(
    ("size", "max_pixels", "min_pixels", "qwen", "expected"),
    [
        ((1000, 700), 768 * 768, 32 * 32, False, (917, 642)),
        ((1000, 700), 5000, 32 * 32, False, (84, 59)),
        ((24, 24), 768 * 768, 32 * 32, False, (32, 32)),
        ((24, 24), 768 * 768, 16 * 16, True, (28, 28)),
        ((600, 2), 768 * 768, 1, True, (600, 28)),
        ((6000, 20), 768 * 768, 1, True, (5040, 28)),
    ],
)
def test_regularized_size_follows_llamafactorys_resizes(
    size: tuple[int, int], max_pixels: int, min_pixels: int, qwen: bool, expected: tuple[int, int]
) -> None:
    assert regularized_size(size, max_pixels, min_pixels, qwen) == expected


def test_the_loaded_image_has_the_regularized_size_and_is_rgb(workspace: Path) -> None:
    for name in ("grey_dot", "pink_circle", "green_triangle", "orange_banner"):
        path = str(workspace / "data" / "demo_images" / f"{name}.png")
        image = load_image(path, 5000, 3000, qwen=True)
        assert image.mode == "RGB" and image.size == regularized_size(header_size(path), 5000, 3000, qwen=True)


GEMMA3 = ["model_name_or_path=models/tiny-gemma3", "template=gemma3"]


def test_gemma3_pan_and_scan_adds_the_crops_of_wide_images(workspace: Path) -> None:
    """With image_do_pan_and_scan, the 1000x700 picture is shown whole and in 2 crops (transformers' own crop
    count), each as Gemma 3's image sequence; the others stay one image. (LLaMA-Factory 0.9.5 fails here with
    transformers 5, so there is no golden for it.)"""
    from lmf_engine.data.pipeline import media_encoder

    config = vlm_config(*GEMMA3, "image_do_pan_and_scan=true", "cutoff_len=2048")
    prepared = prepare_data(config)
    encoder = media_encoder(config, prepared.template)
    assert encoder.plugin is not None
    tokenizer = prepared.tokenizer
    image_id = tokenizer.convert_tokens_to_ids("<image_soft_token>")
    for row in prepared.train:
        images = row["images"] or []
        crops = encoder.plugin.crops(images, encoder.processor)  # type: ignore[attr-defined]
        text = tokenizer.decode(row["input_ids"])
        pixels = encoder.plugin.pixel_inputs(images, encoder.processor).get("pixel_values", [])
        assert len(pixels) == len(images) + sum(crops)
        assert row["input_ids"].count(image_id) == 4 * len(pixels)
        assert crops == [2 if image.endswith("green_triangle.png") else 0 for image in images]
        assert text.count("Here is the original image \n\n<start_of_image>") == len(images)
        assert text.count("<end_of_image>\n\n \n\n<start_of_image>") == sum(crops) // 2  # crops joined by spaces


def test_gemma3_batches_mark_image_tokens_in_token_type_ids(workspace: Path) -> None:
    """Gemma 3's image tokens attend to each other both ways in training: its batches carry token_type_ids."""
    from lmf_engine.data.pipeline import media_encoder
    from lmf_engine.train.collators import SFTCollator
    from lmf_engine.train.media_batch import MediaCollation

    config = vlm_config(*GEMMA3)
    prepared = prepare_data(config)
    encoder = media_encoder(config, prepared.template)
    collator = SFTCollator(prepared.tokenizer, media=MediaCollation(encoder, prepared.tokenizer))
    batch = collator([dict(prepared.train[0]), dict(prepared.train[1])])
    image_id = prepared.tokenizer.convert_tokens_to_ids("<image_soft_token>")
    assert batch["token_type_ids"].tolist() == (batch["input_ids"] == image_id).long().tolist()
    assert int(batch["token_type_ids"].sum()) == 4 * len(batch["pixel_values"])


def test_qwen3_vl_gives_each_video_its_own_frame_times(workspace: Path) -> None:
    """Each temporal patch is preceded by its time; the row with two videos, the second in the third message (where
    LLaMA-Factory 0.9.5 fails), gets the times of each."""
    config = vlm_config("model_name_or_path=models/tiny-qwen3-vl", "template=qwen3_vl_nothink", "dataset=demo_video")
    prepared = prepare_data(config)
    first = prepared.tokenizer.decode(prepared.train[0]["input_ids"])
    assert first.count("<0.3 seconds><|vision_start|>") == 1 and first.count("<1.5 seconds><|vision_start|>") == 1
    two = prepared.tokenizer.decode(prepared.train[10]["input_ids"])
    times = [piece.split(" seconds>")[0] for piece in two.split("<")[1:] if " seconds>" in piece]
    # red_dot_right: frames 0, 6, 12, 19 at 10 fps; blue_square_down: frames 0, 5, 11 (and 11 again) at 8 fps
    assert times == ["0.3", "1.5", "0.3", "1.4"]


def test_qwen2_audio_batches_carry_features_and_a_blank_audio_without_any(workspace: Path) -> None:
    """An audio row becomes <|audio_bos|>, one <|AUDIO|> per 40 ms (the stereo 44.1 kHz tone averaged and
    resampled), <|audio_eos|>; a batch of text rows gets a blank audio out of attention, as LLaMA-Factory adds."""
    from lmf_engine.data.pipeline import media_encoder
    from lmf_engine.train.collators import SFTCollator
    from lmf_engine.train.media_batch import MediaCollation

    audio = ["model_name_or_path=models/tiny-qwen2-audio", "template=qwen2_audio"]
    config = vlm_config(*audio, "dataset=demo_audio")
    prepared = prepare_data(config)
    audio_id = prepared.tokenizer.convert_tokens_to_ids("<|AUDIO|>")
    assert [prepared.train[i]["input_ids"].count(audio_id) for i in (0, 3, 6, 9)] == [25, 32, 17, 25 + 17]
    collator = SFTCollator(
        prepared.tokenizer, media=MediaCollation(media_encoder(config, prepared.template), prepared.tokenizer)
    )
    batch = collator([dict(prepared.train[0]), dict(prepared.train[9])])
    assert list(batch["input_features"].shape) == [3, 128, 3000]
    assert batch["feature_attention_mask"].sum(-1).tolist() == [100, 100, 70]
    text = prepare_data(vlm_config(*audio, "dataset=demo_sft"))
    text_batch = collator([dict(text.train[0]), dict(text.train[1])])
    assert list(text_batch["input_features"].shape) == [1, 128, 3000]
    blank = int((text_batch["input_ids"][0] == audio_id).sum())
    assert blank == 2 and text_batch["attention_mask"][0][text_batch["input_ids"][0] == audio_id].sum() == 0
