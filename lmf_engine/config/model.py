"""The ``model`` group: which weights and tokenizer to load, and how."""

from dataclasses import dataclass
from typing import Literal

from .fields import opt


@dataclass
class ModelConfig:
    """Base model, adapters, tokenizer, attention, quantization and inference back end."""

    model_name_or_path: str | None = opt(None, "Local folder (or hub id, when a hub is reachable) of the base model.")
    adapter_name_or_path: str | None = opt(
        None, "Adapter folder(s) to load on top of the base model; separate several with commas."
    )
    adapter_folder: str | None = opt(None, "A folder whose sub-folders are adapters to load in turn.", advanced=True)
    cache_dir: str | None = opt(None, "Where downloaded models are cached.", advanced=True)
    trust_remote_code: bool = opt(False, "Run modelling code that ships with the model folder.")
    use_fast_tokenizer: bool = opt(True, "Use the fast (Rust `tokenizers`) tokenizer.", advanced=True)
    resize_vocab: bool = opt(False, "Resize the embeddings to the tokenizer's length.", advanced=True)
    split_special_tokens: bool = opt(False, "Tokenize special-token text as ordinary text.", advanced=True)
    add_tokens: str | None = opt(None, "Ordinary tokens to add to the tokenizer, comma-separated.", advanced=True)
    add_special_tokens: str | None = opt(
        None, "Special tokens to add to the tokenizer, comma-separated.", advanced=True
    )
    model_revision: str = opt("main", "Branch, tag or commit of a hub model.", advanced=True)
    low_cpu_mem_usage: bool = opt(True, "Load weights without a full extra copy in CPU memory.", advanced=True)
    rope_scaling: Literal["linear", "dynamic", "yarn", "llama3"] | None = opt(
        None, "RoPE scaling strategy to extend the context beyond the model's trained length.", advanced=True
    )
    flash_attn: Literal["auto", "disabled", "sdpa", "fa2", "fa3"] = opt(
        "auto", "Attention implementation: auto, eager (disabled), sdpa, FlashAttention 2 or 3."
    )
    enable_liger_kernel: bool = opt(False, "Use Liger kernels when the package is installed.", advanced=True)
    moe_aux_loss_coef: float | None = opt(
        None, "Weight of the router auxiliary loss of mixture-of-experts models.", ge=0, advanced=True
    )
    disable_gradient_checkpointing: bool = opt(False, "Turn gradient checkpointing off (faster, more memory).")
    use_reentrant_gc: bool = opt(True, "Use reentrant gradient checkpointing.", advanced=True)
    upcast_layernorm: bool = opt(False, "Keep layer-norm weights in float32.", advanced=True)
    upcast_lmhead_output: bool = opt(False, "Compute the lm_head output in float32.", advanced=True)
    train_from_scratch: bool = opt(False, "Initialise the weights randomly instead of loading them.", advanced=True)
    infer_backend: Literal["huggingface", "vllm", "sglang"] = opt(
        "huggingface", "Inference engine: transformers, vLLM or an SGLang server."
    )
    infer_dtype: Literal["auto", "float16", "bfloat16", "float32"] = opt(
        "auto", "Data type of weights and activations at inference and export."
    )
    offload_folder: str = opt("offload", "Folder for weights offloaded to disk.", advanced=True)
    use_kv_cache: bool = opt(True, "Use the key/value cache when generating.", advanced=True)
    hf_hub_token: str | None = opt(None, "Access token for the Hugging Face Hub.", advanced=True)
    print_param_status: bool = opt(False, "Print every parameter's dtype, device and trainability.", advanced=True)
    quantization_method: Literal["bnb"] = opt("bnb", "On-the-fly quantization library (bitsandbytes).")
    quantization_bit: Literal[4, 8] | None = opt(None, "Quantize the base model to 4 or 8 bits (QLoRA; needs a GPU).")
    quantization_type: Literal["fp4", "nf4"] = opt("nf4", "4-bit data type for bitsandbytes.", advanced=True)
    double_quantization: bool = opt(True, "Quantize the quantization constants too (4-bit).", advanced=True)
    quantization_device_map: Literal["auto"] | None = opt(
        None, "Device map for a 4-bit model at inference.", advanced=True
    )
    vllm_maxlen: int = opt(4096, "Longest prompt + response the vLLM engine accepts.", ge=1, advanced=True)
    vllm_gpu_util: float = opt(0.7, "Share of GPU memory the vLLM engine may use.", gt=0, le=1, advanced=True)
    vllm_enforce_eager: bool = opt(False, "Disable CUDA graphs in vLLM.", advanced=True)
    vllm_max_lora_rank: int = opt(32, "Largest LoRA rank vLLM must serve.", ge=1, advanced=True)
    vllm_config: dict | str | None = opt(
        None, "Extra vLLM engine arguments (a mapping or a JSON string).", advanced=True
    )
    image_max_pixels: int = opt(768 * 768, "Images larger than this many pixels are scaled down first.", ge=1)
    image_min_pixels: int = opt(32 * 32, "Images smaller than this many pixels are scaled up first.", ge=1)
    image_do_pan_and_scan: bool = opt(False, "Gemma 3: add pan-and-scan crops of wide or tall images.", advanced=True)
    crop_to_patches: bool = opt(False, "InternVL: split images into tiles (and a thumbnail).", advanced=True)
    video_max_pixels: int = opt(256 * 256, "Video frames larger than this many pixels are scaled down.", ge=1)
    video_min_pixels: int = opt(16 * 16, "Video frames smaller than this many pixels are scaled up.", ge=1)
    video_fps: float = opt(2.0, "Frames sampled per second of video.", gt=0)
    video_maxlen: int = opt(128, "Most frames sampled from one video.", ge=1)
    use_audio_in_video: bool = opt(False, "Qwen2.5-Omni: use the audio track of each video too.", advanced=True)
    audio_sampling_rate: int = opt(16000, "Sampling rate audio is resampled to.", ge=1, advanced=True)
    sglang_maxlen: int = opt(4096, "Longest prompt + response the SGLang server accepts.", ge=1, advanced=True)
    sglang_mem_fraction: float = opt(0.7, "Share of GPU memory the SGLang server may use.", gt=0, le=1, advanced=True)
    sglang_tp_size: int = opt(-1, "Tensor-parallel GPUs of the SGLang server (-1: all visible).", ge=-1, advanced=True)
    sglang_config: dict | str | None = opt(
        None, "Extra SGLang server options (a mapping or JSON), each passed as --option value.", advanced=True
    )
    sglang_lora_backend: Literal["triton", "flashinfer"] = opt(
        "triton", "Kernels SGLang runs LoRA adapters with.", advanced=True
    )
