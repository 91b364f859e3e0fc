"""The ``training`` group: the trainer's loop, optimiser, precision, saving, evaluation and distribution."""

from dataclasses import dataclass
from typing import Literal

from .fields import opt

Optimizer = Literal[
    "adamw_torch", "adamw_torch_fused", "adafactor", "adamw_torch_4bit", "adamw_torch_8bit", "ademamix", "sgd",
    "adagrad", "adamw_bnb_8bit", "adamw_8bit", "ademamix_8bit", "lion_8bit", "lion_32bit", "paged_adamw_32bit",
    "paged_adamw_8bit", "paged_ademamix_32bit", "paged_ademamix_8bit", "paged_lion_32bit", "paged_lion_8bit",
    "rmsprop", "rmsprop_bnb", "rmsprop_bnb_8bit", "rmsprop_bnb_32bit", "lomo", "adalomo", "grokadamw",
    "schedule_free_radam", "schedule_free_adamw", "schedule_free_sgd", "stable_adamw",
]  # fmt: skip
Scheduler = Literal[
    "linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup", "inverse_sqrt",
    "reduce_lr_on_plateau", "cosine_with_min_lr", "cosine_warmup_with_min_lr", "warmup_stable_decay",
]  # fmt: skip
Interval = Literal["no", "steps", "epoch"]


@dataclass
class TrainingConfig:
    """Keys of transformers' ``Seq2SeqTrainingArguments`` that LLaMA-Factory configs use."""

    output_dir: str | None = opt(None, "Run folder: checkpoints, logs and the final model go here.")
    overwrite_output_dir: bool = opt(False, "Allow writing into a non-empty output_dir.")
    do_train: bool = opt(False, "Train.")
    do_eval: bool = opt(False, "Evaluate on the eval split.")
    do_predict: bool = opt(False, "Predict on the eval split and save the predictions.")
    predict_with_generate: bool = opt(False, "Generate text when predicting (sft).")
    per_device_train_batch_size: int = opt(8, "Training examples per device per step.", ge=1)
    per_device_eval_batch_size: int = opt(8, "Evaluation examples per device.", ge=1)
    gradient_accumulation_steps: int = opt(1, "Micro-batches accumulated before each optimizer step.", ge=1)
    learning_rate: float = opt(5e-5, "Peak learning rate.", gt=0)
    weight_decay: float = opt(0.0, "Weight decay.", ge=0)
    adam_beta1: float = opt(0.9, "Adam beta1.", ge=0, lt=1, advanced=True)
    adam_beta2: float = opt(0.999, "Adam beta2.", ge=0, lt=1, advanced=True)
    adam_epsilon: float = opt(1e-8, "Adam epsilon.", gt=0, advanced=True)
    max_grad_norm: float = opt(1.0, "Gradient clipping norm (0: off).", ge=0)
    num_train_epochs: float = opt(3.0, "Epochs over the training set.", gt=0)
    max_steps: int = opt(-1, "Stop after this many optimizer steps (-1: use num_train_epochs).", ge=-1)
    lr_scheduler_type: Scheduler = opt("linear", "Learning-rate schedule.")
    lr_scheduler_kwargs: dict | str | None = opt(None, "Extra scheduler arguments.", advanced=True)
    warmup_ratio: float = opt(0.0, "Share of steps spent warming up the learning rate.", ge=0, le=1)
    warmup_steps: float = opt(0, "Warm-up steps (overrides warmup_ratio when > 0; < 1 means a ratio).", ge=0)
    optim: Optimizer = opt("adamw_torch", "Optimizer.")
    seed: int = opt(42, "Random seed.")
    data_seed: int | None = opt(None, "Seed of the data sampler (default: seed).", advanced=True)
    bf16: bool = opt(False, "Mixed precision with bfloat16.")
    fp16: bool = opt(False, "Mixed precision with float16.")
    tf32: bool | None = opt(None, "Allow TF32 matmuls on Ampere+ GPUs.", advanced=True)
    gradient_checkpointing: bool | None = opt(None, "Trainer-level gradient checkpointing.", advanced=True)
    gradient_checkpointing_kwargs: dict | str | None = opt(
        None, "Arguments of gradient checkpointing, e.g. use_reentrant.", advanced=True
    )
    neftune_noise_alpha: float | None = opt(None, "NEFTune noise on embeddings (e.g. 5).", gt=0)
    logging_steps: float = opt(500, "Log every n steps (< 1: a share of all steps).", gt=0)
    logging_first_step: bool = opt(False, "Log the first step too.", advanced=True)
    logging_dir: str | None = opt(None, "Folder for TensorBoard logs.", advanced=True)
    report_to: str | list[str] = opt("none", "Loggers: none, all, tensorboard, wandb, mlflow, swanlab, trackio.")
    run_name: str | None = opt(None, "Name of the run for loggers.")
    save_strategy: Literal["no", "steps", "epoch", "best"] = opt("steps", "When checkpoints are saved.")
    save_steps: float = opt(500, "Save every n steps (< 1: a share of all steps).", gt=0)
    save_total_limit: int | None = opt(None, "Keep at most this many checkpoints.", ge=1)
    save_only_model: bool = opt(False, "Save weights only, without optimizer state (cannot resume).")
    eval_strategy: Interval = opt("no", "When to evaluate.")
    eval_steps: float | None = opt(None, "Evaluate every n steps (default: logging_steps).", gt=0)
    load_best_model_at_end: bool = opt(False, "Load the best checkpoint at the end.", advanced=True)
    metric_for_best_model: str | None = opt(None, "Metric that picks the best checkpoint.", advanced=True)
    greater_is_better: bool | None = opt(None, "Whether a larger metric is better.", advanced=True)
    resume_from_checkpoint: str | None = opt(None, "Checkpoint folder to resume from.")
    train_sampling_strategy: Literal["random", "sequential", "group_by_length"] = opt(
        "random", "Order of training rows: shuffled, in order, or grouped by length (less padding).", advanced=True
    )
    dataloader_num_workers: int = opt(0, "Data-loader worker processes.", ge=0)
    dataloader_pin_memory: bool = opt(True, "Pin data-loader memory.", advanced=True)
    dataloader_persistent_workers: bool = opt(False, "Keep data-loader workers alive.", advanced=True)
    remove_unused_columns: bool = opt(False, "Drop dataset columns the model does not take.", advanced=True)
    label_smoothing_factor: float = opt(0.0, "Label smoothing.", ge=0, lt=1, advanced=True)
    include_num_input_tokens_seen: bool = opt(False, "Count input tokens seen.", advanced=True)
    generation_max_length: int | None = opt(None, "Longest generation when predicting.", ge=1, advanced=True)
    generation_num_beams: int | None = opt(None, "Beams when predicting.", ge=1, advanced=True)
    torch_compile: bool = opt(False, "Compile the model with torch.compile.", advanced=True)
    use_cpu: bool = opt(False, "Train on the CPU even when a GPU is present.", advanced=True)
    ddp_timeout: int = opt(1800, "Timeout of distributed operations, in seconds.", ge=1, advanced=True)
    ddp_find_unused_parameters: bool | None = opt(None, "DDP find_unused_parameters.", advanced=True)
    ddp_backend: Literal["nccl", "gloo", "mpi", "ccl", "hccl", "cncl", "mccl"] | None = opt(
        None, "Distributed back end.", advanced=True
    )
    deepspeed: str | dict | None = opt(None, "DeepSpeed config: a JSON file path or a mapping.")
    fsdp: str | list[str] | None = opt(None, "FSDP options, e.g. 'full_shard auto_wrap'.", advanced=True)
    fsdp_config: str | dict | None = opt(None, "FSDP config: a JSON file path or a mapping.", advanced=True)
    fsdp_transformer_layer_cls_to_wrap: str | None = opt(
        None,
        "FSDP: decoder layer class to wrap (transformers 4's key; passed on as fsdp_config's "
        "transformer_layer_cls_to_wrap).",
        advanced=True,
    )
    num_processes: int | None = opt(
        None,
        "Training processes on this machine (default: one per visible GPU, or NPROC_PER_NODE). More than one, "
        "DeepSpeed, FSDP or an accelerate config start the run with accelerate launch; on the CPU set use_cpu.",
        ge=1,
    )
    accelerate_config: str | None = opt(
        None,
        "Config file of `accelerate launch` (made by `accelerate config`) that decides how the run starts.",
        advanced=True,
    )
    fp8: bool = opt(
        False,
        "FP8 mixed precision through accelerate (stages pt and sft; a GPU of compute capability 8.9+).",
        advanced=True,
    )
    fp8_backend: Literal["auto", "torchao", "te", "msamp"] = opt(
        "auto",
        "FP8 back end: torchao (auto), NVIDIA Transformer Engine (te); msamp falls back to torchao.",
        advanced=True,
    )
    fp8_enable_fsdp_float8_all_gather: bool = opt(
        False, "FP8: all-gather FSDP2 weights in float8 (turns fp8 on; tensor-wise scaling).", advanced=True
    )
    ray_num_workers: int = opt(
        1, "Ray (USE_RAY=1): training workers, one per GPU (or per CPU bundle with use_cpu).", ge=1, advanced=True
    )
    ray_init_kwargs: dict | str | None = opt(
        None,
        "Ray: arguments of ray.init, a mapping or JSON (e.g. address of an existing cluster; default: start one).",
        advanced=True,
    )
    master_addr: str | None = opt(
        None, "Ray: address of rank 0's rendezvous (default: the Ray head node).", advanced=True
    )
    master_port: int | None = opt(
        None, "Ray: port of rank 0's rendezvous (default: a free port).", ge=1, le=65535, advanced=True
    )
    resources_per_worker: dict | str | None = opt(
        None, "Ray: resources of each worker's bundle, a mapping or JSON (default: one GPU or one CPU).", advanced=True
    )
    placement_strategy: Literal["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"] = opt(
        "PACK", "Ray: how the workers' bundles are placed over the cluster's nodes.", advanced=True
    )
