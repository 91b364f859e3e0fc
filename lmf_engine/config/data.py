"""The ``data`` group: datasets, template and preprocessing."""

from dataclasses import dataclass
from typing import Literal

from .fields import opt


@dataclass
class DataConfig:
    """Which datasets to read, how to template them and how to cut and pack them."""

    dataset: str | None = opt(None, "Training dataset name(s) from dataset_info.json, comma-separated.")
    eval_dataset: str | None = opt(None, "Evaluation dataset name(s), comma-separated.")
    dataset_dir: str = opt("data", "Folder holding dataset_info.json and the data files.")
    media_dir: str | None = opt(
        None, "Folder that relative image, video and audio paths start from (default: dataset_dir).", advanced=True
    )
    template: str | None = opt(None, "Chat template that turns messages into tokens (e.g. qwen, llama3, hf).")
    cutoff_len: int = opt(2048, "Longest tokenized example; longer ones are truncated.", ge=1)
    train_on_prompt: bool = opt(False, "Compute the loss on prompt tokens too.")
    mask_history: bool = opt(False, "Train on the last turn only; earlier turns are masked.")
    streaming: bool = opt(False, "Stream datasets instead of loading them (needs max_steps).", advanced=True)
    buffer_size: int = opt(16384, "Shuffle buffer size when streaming.", ge=1, advanced=True)
    mix_strategy: Literal["concat", "interleave_under", "interleave_over", "interleave_once"] = opt(
        "concat", "How several datasets are mixed."
    )
    interleave_probs: str | None = opt(
        None, "Sampling probability of each dataset when interleaving, comma-separated."
    )
    on_bad_row: Literal["fail", "skip"] = opt(
        "fail", "A row that cannot be converted fails the run, or is skipped and counted (lmf workbench key)."
    )
    overwrite_cache: bool = opt(False, "Ignore cached preprocessed data and preprocess again.")
    preprocessing_batch_size: int = opt(1000, "Rows per preprocessing batch.", ge=1, advanced=True)
    preprocessing_num_workers: int | None = opt(None, "Processes used to preprocess the data.", ge=1)
    max_samples: int | None = opt(None, "Use at most this many rows of each dataset.", ge=1)
    eval_num_beams: int | None = opt(None, "Beams for generation at evaluation.", ge=1, advanced=True)
    ignore_pad_token_for_loss: bool = opt(True, "Leave pad tokens out of the loss.", advanced=True)
    val_size: float = opt(0.0, "Validation split: a fraction in [0, 1) or a number of rows.", ge=0)
    eval_on_each_dataset: bool = opt(False, "Report evaluation per eval dataset.", advanced=True)
    packing: bool | None = opt(None, "Pack several examples into each sequence (on by default for pt).")
    neat_packing: bool = opt(False, "Pack without attention across packed examples.")
    tool_format: str | None = opt(None, "Tool-call format to use instead of the template's own.", advanced=True)
    default_system: str | None = opt(None, "System message that replaces the template's default.")
    enable_thinking: bool | None = opt(True, "For reasoning templates: keep thinking on (or off with false).")
    preserve_thinking: bool = opt(False, "Keep thinking text of earlier turns.", advanced=True)
    lazy_preprocessing: bool = opt(
        True,
        "Start training at once and encode rows as the trainer asks for them, caching them in the background; "
        "false encodes the whole dataset first (lmf workbench key).",
        advanced=True,
    )
    tokenized_path: str | None = opt(None, "Save preprocessed data here, or load it when it exists.")
    data_shared_file_system: bool = opt(False, "All nodes share one file system for data.", advanced=True)
