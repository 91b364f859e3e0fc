"""Tiny vision-language models built locally, for tests, goldens and the demo (no model hub needed).

:func:`build_tiny_vlm` saves a 2-layer language model with a 1-layer vision tower, random weights, the tiny
tokenizer of :mod:`lmf_engine.model.tiny` with the architecture's media tokens (and no chat template: the run's
template writes its own into what it saves, as LLaMA-Factory does), and the architecture's processor
(image processor + tokenizer), so ``AutoProcessor.from_pretrained(out_dir)`` and
``AutoModelForImageTextToText.from_pretrained(out_dir)`` load it, in lmf and in LLaMA-Factory alike.

- ``qwen2_vl``: Qwen2-VL (patch 14, merge 2, temporal patch 2; ``<|vision_start|><|image_pad|>...<|vision_end|>``);
- ``qwen3_vl``: Qwen3-VL (patch 16, merge 2, DeepStack features from the one vision layer; same tokens; its own
  video processor, written as the file transformers saves, since it cannot be built without torchvision);
- ``llava``: LLaVA-1.5 (a CLIP vision tower, 56-pixel crops of 14-pixel patches, so 16 ``<image>`` tokens);
- ``llava_next``: LLaVA-NeXT (the same tower; images tiled on a 56/112-pixel grid, so their token count varies);
- ``gemma3``: Gemma 3 (a SigLIP tower on 64-pixel images of 16-pixel patches, pooled to 4 ``<image_soft_token>``
  between ``<start_of_image>`` and ``<end_of_image>``; Gemma's turn tokens are special tokens of its tokenizer);
- ``paligemma``: PaliGemma (the same tower unpooled: 16 ``<image>`` tokens an image, put before the text);
- ``pixtral``: Pixtral (a LLaVA with a Pixtral tower: images up to 64 pixels a side in 16-pixel patches, a row of
  ``[IMG]`` per patch row ending in ``[IMG_BREAK]``, the last in ``[IMG_END]``);
- ``intern_vl``: InternVL (a 1-layer InternViT on 64-pixel tiles of 16-pixel patches, pixel-shuffled to 4
  ``<IMG_CONTEXT>`` tokens a tile between ``<img>`` and ``</img>``);
- ``glm4v``: GLM-4.1V (a 1-layer tower like Qwen2-VL's, ``<|begin_of_image|><|image|>...<|end_of_image|>``);
- ``mllama``: Llama 3.2 Vision (a 1+1-layer tower on up to 2 tiles of 56 pixels, read by one cross-attention
  layer; one ``<|image|>`` per image);
- ``qwen2_omni``: the thinker of Qwen2.5-Omni (Qwen2-VL-like vision, Qwen2-Audio-like audio, multimodal RoPE;
  ``<|IMAGE|>`` / ``<|VIDEO|>`` / ``<|AUDIO|>`` between their marks);
- ``qwen2_audio``: Qwen2-Audio (a 1-layer Whisper-like encoder on 128 mel bins; ``<|audio_bos|>``, one
  ``<|AUDIO|>`` per 40 ms, ``<|audio_eos|>``).
"""

import json
from pathlib import Path
from typing import Any, Literal, get_args

from .tiny import save_tiny, text_shape, train_tiny_tokenizer

VlmArch = Literal[
    "qwen2_vl", "qwen3_vl", "llava", "llava_next", "gemma3", "paligemma", "pixtral", "qwen2_audio", "intern_vl",
    "glm4v", "mllama", "qwen2_omni",
]  # fmt: skip
QWEN2_VL_TOKENS = ("<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>")
LLAVA_TOKENS = ("<image>",)
GEMMA3_NAMED_TOKENS = {
    "boi_token": "<start_of_image>", "eoi_token": "<end_of_image>", "image_token": "<image_soft_token>"
}  # fmt: skip
GEMMA_TURN_TOKENS = ("<start_of_turn>", "<end_of_turn>")
PIXTRAL_TOKENS = ("[IMG]", "[IMG_BREAK]", "[IMG_END]")
QWEN2_AUDIO_TOKENS = ("<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>")
INTERN_VL_NAMED_TOKENS = {
    "start_image_token": "<img>", "end_image_token": "</img>", "context_image_token": "<IMG_CONTEXT>",
    "video_token": "<video>",
}  # fmt: skip
GLM4V_TOKENS = (
    "<|begin_of_image|>", "<|end_of_image|>", "<|image|>", "<|begin_of_video|>", "<|end_of_video|>", "<|video|>",
    "[gMASK]", "<sop>", "<|user|>", "<|assistant|>", "<|system|>", "<|observation|>",
)  # fmt: skip
MLLAMA_TOKENS = (
    "<|image|>", "<|python_tag|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|eom_id|>"
)  # fmt: skip
"""The tiny mllama's special tokens: its image token and Llama 3's turn tokens (the mllama template's stop words)."""
QWEN2_OMNI_NAMED_TOKENS = {
    "image_token": "<|IMAGE|>", "audio_token": "<|AUDIO|>", "video_token": "<|VIDEO|>",
    "vision_bos_token": "<|vision_bos|>", "vision_eos_token": "<|vision_eos|>", "audio_bos_token": "<|audio_bos|>",
    "audio_eos_token": "<|audio_eos|>",
}  # fmt: skip
PALIGEMMA_IMAGE_TOKENS = 16
"""The tiny PaliGemma's tokens per image: (64 / 16) ** 2 patches."""
LLAVA_NEXT_GRID = [[56, 112], [112, 56], [112, 112]]
"""The tiny LLaVA-NeXT's ``image_grid_pinpoints``: an image becomes a base crop plus 2 or 4 tiles."""
TINY_IMAGE_PIXELS = (56 * 56, 28 * 28 * 64)
QWEN3_VL_VIDEO_SIZE = {"shortest_edge": 64 * 64, "longest_edge": 16 * 64 * 64}
"""The tiny Qwen3-VL video processor's min and max pixels (frames times height times width)."""
"""Qwen2-VL's min and max pixels here (the processor's ``size``), small so that images give few tokens."""


def build_tiny_vlm(out_dir: Path, *, arch: VlmArch = "qwen2_vl", vocab_size: int = 512, seed: int = 0) -> Path:
    """Build and save a tiny ``arch`` vision-language model with its processor; returns ``out_dir``."""
    if arch == "qwen2_vl":
        return _qwen2_vl(Path(out_dir), vocab_size, seed)
    if arch == "qwen3_vl":
        return _qwen3_vl(Path(out_dir), vocab_size, seed)
    if arch in ("llava", "llava_next"):
        return _llava(Path(out_dir), vocab_size, seed, next_=arch == "llava_next")
    if arch == "gemma3":
        return _gemma3(Path(out_dir), vocab_size, seed)
    if arch == "paligemma":
        return _paligemma(Path(out_dir), vocab_size, seed)
    if arch == "pixtral":
        return _pixtral(Path(out_dir), vocab_size, seed)
    if arch == "qwen2_audio":
        return _qwen2_audio(Path(out_dir), vocab_size, seed)
    if arch == "intern_vl":
        return _intern_vl(Path(out_dir), vocab_size, seed)
    if arch == "glm4v":
        return _glm4v(Path(out_dir), vocab_size, seed)
    if arch == "mllama":
        return _mllama(Path(out_dir), vocab_size, seed)
    if arch == "qwen2_omni":
        return _qwen2_omni(Path(out_dir), vocab_size, seed)
    raise ValueError(f"arch={arch!r}: expected one of {', '.join(get_args(VlmArch))}")


def _qwen2_vl(out_dir: Path, vocab_size: int, seed: int) -> Path:
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    rope = {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 3, 3]}
    vision = {"depth": 1, "embed_dim": 32, "num_heads": 2, "mlp_ratio": 2, "patch_size": 14}
    return _qwen_vl(
        out_dir, vocab_size, seed, Qwen2VLConfig, Qwen2VLForConditionalGeneration, {"rope_parameters": rope},
        {**vision, "hidden_size": None}, {}, "Qwen2VLProcessor",
    )  # fmt: skip


def _qwen3_vl(out_dir: Path, vocab_size: int, seed: int) -> Path:
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

    rope = {"rope_type": "default", "rope_theta": 5000000.0, "mrope_section": [2, 3, 3], "mrope_interleaved": True}
    vision = {
        "depth": 1, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": None,
        "patch_size": 16, "num_position_embeddings": 64, "deepstack_visual_indexes": [0],
    }  # fmt: skip
    pixels = {"patch_size": 16, "merge_size": 2, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
    out_dir = _qwen_vl(
        out_dir, vocab_size, seed, Qwen3VLConfig, Qwen3VLForConditionalGeneration,
        {"head_dim": 16, "rope_parameters": rope}, vision, pixels, "Qwen3VLProcessor",
    )  # fmt: skip
    video = {
        "video_processor_type": "Qwen3VLVideoProcessor", "size": QWEN3_VL_VIDEO_SIZE, "patch_size": 16,
        "temporal_patch_size": 2, "merge_size": 2, "fps": 2, "do_sample_frames": False, **pixels,
    }  # fmt: skip
    (out_dir / "video_preprocessor_config.json").write_text(json.dumps(video, indent=2) + "\n", encoding="utf-8")
    return out_dir


def _qwen_vl(
    out_dir: Path,
    vocab_size: int,
    seed: int,
    config_class: Any,
    model_class: Any,
    text_extra: dict[str, Any],
    vision: dict[str, Any],
    pixels: dict[str, Any],
    processor_class: str,
) -> Path:
    """A tiny Qwen-VL of ``model_class``: the vision tower's ``None`` values become the text hidden size."""
    import torch
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    tokenizer = train_tiny_tokenizer(vocab_size, media_tokens=QWEN2_VL_TOKENS, chat_template=None)
    ids = dict(zip(QWEN2_VL_TOKENS, tokenizer.convert_tokens_to_ids(list(QWEN2_VL_TOKENS)), strict=True))
    text = {**text_shape(tokenizer, vocab_size, tie_word_embeddings=True), **text_extra}
    vision = {key: text["hidden_size"] if value is None else value for key, value in vision.items()}
    config = config_class(
        text_config=text,
        vision_config={**vision, "spatial_merge_size": 2, "temporal_patch_size": 2},
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = model_class(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_tiny(model, tokenizer, out_dir)
    min_pixels, max_pixels = TINY_IMAGE_PIXELS
    image_processor = Qwen2VLImageProcessorPil(
        size={"shortest_edge": min_pixels, "longest_edge": max_pixels}, **pixels
    )
    _save_processor(out_dir, image_processor, {"processor_class": processor_class})
    return out_dir


def _llava(out_dir: Path, vocab_size: int, seed: int, next_: bool = False) -> Path:
    import torch
    from transformers import (
        CLIPVisionConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaNextConfig,
        LlavaNextForConditionalGeneration,
    )
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
    from transformers.models.llava_next.image_processing_pil_llava_next import LlavaNextImageProcessorPil

    tokenizer = train_tiny_tokenizer(vocab_size, media_tokens=LLAVA_TOKENS, chat_template=None)
    text = text_shape(tokenizer, vocab_size, tie_word_embeddings=False)
    vision = CLIPVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=56, patch_size=14
    )
    common = {
        "vision_config": vision,
        "text_config": {"model_type": "qwen2", **text},
        "image_token_id": tokenizer.convert_tokens_to_ids("<image>"),
        "vision_feature_select_strategy": "default",
        "vision_feature_layer": -2,
        "projector_hidden_act": "gelu",
        "tie_word_embeddings": False,
    }
    size = {"size": {"shortest_edge": 56}, "crop_size": {"height": 56, "width": 56}}
    torch.manual_seed(seed)
    if next_:
        model: Any = LlavaNextForConditionalGeneration(LlavaNextConfig(image_grid_pinpoints=LLAVA_NEXT_GRID, **common))
        image_processor: Any = LlavaNextImageProcessorPil(image_grid_pinpoints=LLAVA_NEXT_GRID, **size)
    else:
        model = LlavaForConditionalGeneration(LlavaConfig(**common))
        image_processor = CLIPImageProcessorPil(**size)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_tiny(model, tokenizer, out_dir)
    settings = {
        "processor_class": "LlavaNextProcessor" if next_ else "LlavaProcessor", "patch_size": 14,
        "vision_feature_select_strategy": "default", "num_additional_image_tokens": 1, "image_token": "<image>",
    }  # fmt: skip
    _save_processor(out_dir, image_processor, settings)
    return out_dir


def _siglip() -> Any:
    """The tiny SigLIP tower of Gemma 3 and PaliGemma: 64-pixel images of 16-pixel patches."""
    from transformers import SiglipVisionConfig

    return SiglipVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=64, patch_size=16
    )


def _gemma3(out_dir: Path, vocab_size: int, seed: int) -> Path:
    import torch
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration
    from transformers.models.gemma3.image_processing_pil_gemma3 import Gemma3ImageProcessorPil

    media = (*GEMMA3_NAMED_TOKENS.values(), *GEMMA_TURN_TOKENS)
    tokenizer = train_tiny_tokenizer(
        vocab_size, media_tokens=media, chat_template=None, named_tokens=GEMMA3_NAMED_TOKENS
    )
    boi, eoi, image = tokenizer.convert_tokens_to_ids(list(GEMMA3_NAMED_TOKENS.values()))
    text = {
        **text_shape(tokenizer, vocab_size, tie_word_embeddings=True),
        "head_dim": 16, "query_pre_attn_scalar": 16, "sliding_window": 64,
    }  # fmt: skip
    config = Gemma3Config(
        text_config=text, vision_config=_siglip(), mm_tokens_per_image=4,
        boi_token_index=boi, eoi_token_index=eoi, image_token_index=image, tie_word_embeddings=True,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = Gemma3ForConditionalGeneration(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_tiny(model, tokenizer, out_dir)
    image_processor = Gemma3ImageProcessorPil(
        size={"height": 64, "width": 64}, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5]
    )
    _save_processor(out_dir, image_processor, {"processor_class": "Gemma3Processor", "image_seq_length": 4})
    return out_dir


def _paligemma(out_dir: Path, vocab_size: int, seed: int) -> Path:
    import torch
    from transformers import PaliGemmaConfig, PaliGemmaForConditionalGeneration
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    tokenizer = train_tiny_tokenizer(
        vocab_size, media_tokens=LLAVA_TOKENS, chat_template=None, named_tokens={"image_token": "<image>"}
    )
    text = {"model_type": "gemma", **text_shape(tokenizer, vocab_size, tie_word_embeddings=True), "head_dim": 16}
    config = PaliGemmaConfig(
        text_config=text, vision_config=_siglip(), image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        projection_dim=text["hidden_size"], hidden_size=text["hidden_size"], vocab_size=text["vocab_size"],
        tie_word_embeddings=True,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = PaliGemmaForConditionalGeneration(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_tiny(model, tokenizer, out_dir)
    image_processor = SiglipImageProcessorPil(
        size={"height": 64, "width": 64}, image_seq_length=PALIGEMMA_IMAGE_TOKENS
    )
    _save_processor(out_dir, image_processor, {"processor_class": "PaliGemmaProcessor"})
    return out_dir


def _pixtral(out_dir: Path, vocab_size: int, seed: int) -> Path:
    import torch
    from transformers import LlavaConfig, LlavaForConditionalGeneration, PixtralVisionConfig
    from transformers.models.pixtral.image_processing_pil_pixtral import PixtralImageProcessorPil

    tokenizer = train_tiny_tokenizer(vocab_size, media_tokens=PIXTRAL_TOKENS, chat_template=None)
    text = text_shape(tokenizer, vocab_size, tie_word_embeddings=False)
    vision = PixtralVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, head_dim=16,
        image_size=64, patch_size=16,
    )  # fmt: skip
    config = LlavaConfig(
        vision_config=vision, text_config={"model_type": "qwen2", **text},
        image_token_id=tokenizer.convert_tokens_to_ids("[IMG]"), vision_feature_select_strategy="full",
        vision_feature_layer=-1, projector_hidden_act="gelu", tie_word_embeddings=False,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_tiny(model, tokenizer, out_dir)
    # transformers saves the tower's RoPE as "axial", which it reads as "default" too; releases before 5.2x (the one
    # LLaMA-Factory 0.9.5 runs with, say) load only "default"
    saved = json.loads((out_dir / "config.json").read_text(encoding="utf-8"))
    saved["vision_config"]["rope_parameters"]["rope_type"] = "default"
    (out_dir / "config.json").write_text(json.dumps(saved, indent=2) + "\n", encoding="utf-8")
    image_processor = PixtralImageProcessorPil(size={"longest_edge": 64}, patch_size={"height": 16, "width": 16})
    settings = {
        "processor_class": "PixtralProcessor", "patch_size": 16, "spatial_merge_size": 1, "image_token": "[IMG]",
        "image_break_token": "[IMG_BREAK]", "image_end_token": "[IMG_END]",
    }  # fmt: skip
    _save_processor(out_dir, image_processor, settings)
    return out_dir


def _qwen2_audio(out_dir: Path, vocab_size: int, seed: int) -> Path:
    import torch
    from transformers import Qwen2AudioConfig, Qwen2AudioForConditionalGeneration, WhisperFeatureExtractor

    tokenizer = train_tiny_tokenizer(vocab_size, media_tokens=QWEN2_AUDIO_TOKENS, chat_template=None)
    text = text_shape(tokenizer, vocab_size, tie_word_embeddings=False)
    encoder = {
        "d_model": 32, "encoder_layers": 1, "encoder_attention_heads": 2, "encoder_ffn_dim": 64,
        "num_mel_bins": 128, "max_source_positions": 1500,
    }  # fmt: skip
    config = Qwen2AudioConfig(
        audio_config=encoder, text_config={"model_type": "qwen2", **text},
        audio_token_index=tokenizer.convert_tokens_to_ids("<|AUDIO|>"), tie_word_embeddings=False,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = Qwen2AudioForConditionalGeneration(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_tiny(model, tokenizer, out_dir)
    WhisperFeatureExtractor(feature_size=128).save_pretrained(out_dir)
    settings = {
        "processor_class": "Qwen2AudioProcessor", "audio_token": "<|AUDIO|>", "audio_bos_token": "<|audio_bos|>",
        "audio_eos_token": "<|audio_eos|>",
    }  # fmt: skip
    (out_dir / "processor_config.json").write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    return out_dir


def _intern_vl(out_dir: Path, vocab_size: int, seed: int) -> Path:
    import torch
    from transformers import InternVLConfig, InternVLForConditionalGeneration, InternVLVisionConfig
    from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import GotOcr2ImageProcessorPil

    tokens = INTERN_VL_NAMED_TOKENS
    tokenizer = train_tiny_tokenizer(
        vocab_size, media_tokens=tuple(tokens.values()), chat_template=None, named_tokens=tokens
    )
    text = text_shape(tokenizer, vocab_size, tie_word_embeddings=False)
    vision = InternVLVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=[64, 64],
        patch_size=[16, 16],
    )  # fmt: skip
    config = InternVLConfig(
        vision_config=vision, text_config={"model_type": "qwen2", **text}, downsample_ratio=0.5, image_seq_length=4,
        image_token_id=tokenizer.convert_tokens_to_ids(tokens["context_image_token"]), tie_word_embeddings=False,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = InternVLForConditionalGeneration(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_tiny(model, tokenizer, out_dir)
    image_processor = GotOcr2ImageProcessorPil(size={"height": 64, "width": 64}, crop_to_patches=False, max_patches=12)
    _save_processor(out_dir, image_processor, {"processor_class": "InternVLProcessor", "image_seq_length": 4})
    return out_dir


def _glm4v(out_dir: Path, vocab_size: int, seed: int) -> Path:
    import torch
    from transformers import Glm4vConfig, Glm4vForConditionalGeneration
    from transformers.models.glm4v.image_processing_pil_glm4v import Glm4vImageProcessorPil

    tokenizer = train_tiny_tokenizer(vocab_size, media_tokens=GLM4V_TOKENS, chat_template=None)
    ids = dict(zip(GLM4V_TOKENS, tokenizer.convert_tokens_to_ids(list(GLM4V_TOKENS)), strict=True))
    rope = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [1, 1, 2], "partial_rotary_factor": 0.5}
    text = {**text_shape(tokenizer, vocab_size, tie_word_embeddings=False), "rope_parameters": rope}
    vision = {
        "depth": 1, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": text["hidden_size"],
        "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2, "image_size": 56,
    }  # fmt: skip
    config = Glm4vConfig(
        text_config=text, vision_config=vision, image_token_id=ids["<|image|>"], video_token_id=ids["<|video|>"],
        image_start_token_id=ids["<|begin_of_image|>"], image_end_token_id=ids["<|end_of_image|>"],
        video_start_token_id=ids["<|begin_of_video|>"], video_end_token_id=ids["<|end_of_video|>"],
        tie_word_embeddings=False,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = Glm4vForConditionalGeneration(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_tiny(model, tokenizer, out_dir)
    min_pixels, max_pixels = TINY_IMAGE_PIXELS
    image_processor = Glm4vImageProcessorPil(size={"shortest_edge": min_pixels, "longest_edge": max_pixels})
    _save_processor(out_dir, image_processor, {"processor_class": "Glm4vProcessor"})
    return out_dir


def _mllama(out_dir: Path, vocab_size: int, seed: int) -> Path:
    import torch
    from transformers import MllamaConfig, MllamaForConditionalGeneration
    from transformers.models.mllama.image_processing_pil_mllama import MllamaImageProcessorPil

    tokenizer = train_tiny_tokenizer(vocab_size, media_tokens=MLLAMA_TOKENS, chat_template=None)
    text = {**text_shape(tokenizer, vocab_size, tie_word_embeddings=False), "cross_attention_layers": [1]}
    vision = {
        "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_global_layers": 1,
        "attention_heads": 2, "image_size": 56, "patch_size": 14, "max_num_tiles": 2,
        "intermediate_layers_indices": [0], "vision_output_dim": 64,
        "supported_aspect_ratios": [[1, 1], [1, 2], [2, 1]],
    }  # fmt: skip
    config = MllamaConfig(
        text_config=text, vision_config=vision, image_token_index=tokenizer.convert_tokens_to_ids("<|image|>")
    )
    torch.manual_seed(seed)
    model = MllamaForConditionalGeneration(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_tiny(model, tokenizer, out_dir)
    image_processor = MllamaImageProcessorPil(size={"height": 56, "width": 56}, max_image_tiles=2)
    _save_processor(out_dir, image_processor, {"processor_class": "MllamaProcessor"})
    return out_dir


def _qwen2_omni(out_dir: Path, vocab_size: int, seed: int) -> Path:
    import torch
    from transformers import (
        Qwen2_5OmniThinkerConfig,
        Qwen2_5OmniThinkerForConditionalGeneration,
        WhisperFeatureExtractor,
    )
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    tokens = QWEN2_OMNI_NAMED_TOKENS
    tokenizer = train_tiny_tokenizer(
        vocab_size, media_tokens=tuple(tokens.values()), chat_template=None, named_tokens=tokens
    )
    ids = {name: tokenizer.convert_tokens_to_ids(token) for name, token in tokens.items()}
    rope = {"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [2, 3, 3]}
    text = {**text_shape(tokenizer, vocab_size, tie_word_embeddings=False), "rope_parameters": rope}
    audio = {
        "d_model": 32, "encoder_layers": 1, "encoder_attention_heads": 2, "encoder_ffn_dim": 64, "num_mel_bins": 128,
        "max_source_positions": 1500, "n_window": 100, "output_dim": text["hidden_size"],
    }  # fmt: skip
    vision = {
        "depth": 1, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": text["hidden_size"],
        "fullatt_block_indexes": [0], "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2,
    }  # fmt: skip
    config = Qwen2_5OmniThinkerConfig(
        audio_config=audio, vision_config=vision, text_config=text, audio_token_index=ids["audio_token"],
        image_token_index=ids["image_token"], video_token_index=ids["video_token"],
        audio_start_token_id=ids["audio_bos_token"], audio_end_token_id=ids["audio_eos_token"],
        vision_start_token_id=ids["vision_bos_token"], vision_end_token_id=ids["vision_eos_token"],
        tie_word_embeddings=False,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = Qwen2_5OmniThinkerForConditionalGeneration(config)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_tiny(model, tokenizer, out_dir)
    min_pixels, max_pixels = TINY_IMAGE_PIXELS
    image = Qwen2VLImageProcessorPil(size={"shortest_edge": min_pixels, "longest_edge": max_pixels}).to_dict()
    merged = {
        **WhisperFeatureExtractor(feature_size=128).to_dict(),
        **image,
        "processor_class": "Qwen2_5OmniProcessor",
    }
    merged["image_processor_type"] = "Qwen2VLImageProcessor"
    (out_dir / "preprocessor_config.json").write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")
    settings = {"processor_class": "Qwen2_5OmniProcessor"}
    (out_dir / "processor_config.json").write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    return out_dir


def _save_processor(out_dir: Path, image_processor: Any, settings: dict[str, Any]) -> None:
    """``preprocessor_config.json`` and ``processor_config.json`` as the model's processor class writes them (built
    without its class, which wants a video processor, and so torchvision, even for a model of images only)."""
    image_processor.save_pretrained(out_dir)
    (out_dir / "processor_config.json").write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
