"""The demo's example configs: one per stage, plus merge and chat, with LLaMA-Factory's keys."""

from lmf_engine.demo.datasets import DATA_DIR, DATASET_INFO, DATASETS

DEMO_MODEL_DIRNAME = "tiny-qwen2"
README_HEADER = "# lmf workbench demo workspace"

Scalar = str | int | float | bool
Section = tuple[str, dict[str, Scalar]]

MODEL_PATH = f"models/{DEMO_MODEL_DIRNAME}"
MERGED_MODEL_PATH = f"models/{DEMO_MODEL_DIRNAME}-sft-merged"
VLM_MODELS = {
    "qwen2_vl": "tiny-qwen2-vl", "qwen3_vl": "tiny-qwen3-vl", "llava": "tiny-llava", "llava_next": "tiny-llava-next",
    "gemma3": "tiny-gemma3", "paligemma": "tiny-paligemma", "pixtral": "tiny-pixtral",
    "qwen2_audio": "tiny-qwen2-audio", "intern_vl": "tiny-internvl",
    "glm4v": "tiny-glm4v", "mllama": "tiny-mllama", "qwen2_omni": "tiny-qwen2-omni",
}  # fmt: skip
"""Architecture -> folder under models/ of the demo's tiny vision-language models."""
LORA: dict[str, Scalar] = {"finetuning_type": "lora", "lora_rank": 8, "lora_alpha": 16, "lora_target": "all"}
TRAIN: dict[str, Scalar] = {
    "per_device_train_batch_size": 2,
    "gradient_accumulation_steps": 1,
    "learning_rate": 5.0e-3,
    "max_steps": 20,
    "lr_scheduler_type": "cosine",
    "warmup_ratio": 0.1,
    "bf16": False,
    "seed": 42,
}


def _training(
    name: str,
    stage: str,
    method: dict[str, Scalar],
    dataset: str,
    model: str = MODEL_PATH,
    template: str = "qwen",
    **train: Scalar,
) -> list[Section]:
    """The sections of a training config that writes to ``runs/<name>``."""
    return [
        ("model", {"model_name_or_path": model}),
        ("method", {"stage": stage, "do_train": True, **method}),
        (
            "dataset",
            {
                "dataset": dataset,
                "dataset_dir": DATA_DIR,
                "template": template,
                "cutoff_len": 256,
                "max_samples": 100,
                "overwrite_cache": True,
            },
        ),
        (
            "output",
            {
                "output_dir": f"runs/{name}",
                "logging_steps": 1,
                "save_steps": 10,
                "plot_loss": True,
                "overwrite_output_dir": True,
                "report_to": "none",
            },
        ),
        ("train", {**TRAIN, **train}),
    ]


CONFIGS: dict[str, tuple[str, list[Section]]] = {
    "sft_lora": (
        "Supervised fine-tuning with LoRA on the alpaca demo sets, with a small validation split.",
        [
            *_training("sft_lora", "sft", LORA, "demo_sft,demo_identity"),
            (
                "eval",
                {"val_size": 0.1, "per_device_eval_batch_size": 2, "eval_strategy": "steps", "eval_steps": 10},
            ),
        ],
    ),
    "sft_full": (
        "Full-parameter supervised fine-tuning on multi-turn chats (system prompts, a calculator tool).",
        _training("sft_full", "sft", {"finetuning_type": "full"}, "demo_multiturn", learning_rate=1.0e-3),
    ),
    "sft_freeze": (
        "Freeze tuning: supervised fine-tuning of the last layer only.",
        _training(
            "sft_freeze",
            "sft",
            {"finetuning_type": "freeze", "freeze_trainable_layers": 1},
            "demo_sft,demo_multiturn",
            learning_rate=1.0e-3,
        ),
    ),
    "pt_lora": (
        "Continued pre-training with LoRA on plain text (demo_pt.txt).",
        _training("pt_lora", "pt", LORA, "demo_pt"),
    ),
    "rm_lora": (
        "Reward modelling with LoRA on chosen/rejected pairs; ppo_lora.yaml uses the result.",
        _training("rm_lora", "rm", LORA, "demo_dpo"),
    ),
    "dpo_lora": (
        "Direct preference optimisation (DPO) with LoRA on chosen/rejected pairs.",
        _training("dpo_lora", "dpo", {**LORA, "pref_beta": 0.1, "pref_loss": "sigmoid"}, "demo_dpo"),
    ),
    "kto_lora": (
        "KTO with LoRA on answers tagged desirable or undesirable.",
        _training("kto_lora", "kto", {**LORA, "pref_beta": 0.1}, "demo_kto"),
    ),
    "ppo_lora": (
        "PPO with LoRA against the reward model of rm_lora.yaml (run that first).",
        [
            *_training(
                "ppo_lora",
                "ppo",
                {**LORA, "reward_model": "runs/rm_lora", "reward_model_type": "lora"},
                "demo_sft",
                max_steps=4,
            ),
            ("generate", {"max_new_tokens": 16}),
        ],
    ),
    "sft_vlm_lora": (
        "Supervised fine-tuning of the tiny Qwen2-VL model with LoRA on questions about the demo pictures.",
        _training(
            "sft_vlm_lora", "sft", LORA, "demo_mllm", model=f"models/{VLM_MODELS['qwen2_vl']}", template="qwen2_vl"
        ),
    ),
    "dpo_vlm_lora": (
        "DPO of the tiny LLaVA model with LoRA on captions of the demo pictures (the right colour is chosen).",
        _training(
            "dpo_vlm_lora",
            "dpo",
            {**LORA, "pref_beta": 0.1, "pref_loss": "sigmoid"},
            "demo_mllm_dpo",
            model=f"models/{VLM_MODELS['llava']}",
            template="llava",
        ),
    ),
    "kto_vlm_lora": (
        "KTO of the tiny Qwen3-VL model with LoRA on answers about the demo pictures tagged right or wrong.",
        _training(
            "kto_vlm_lora",
            "kto",
            {**LORA, "pref_beta": 0.1},
            "demo_mllm_kto",
            model=f"models/{VLM_MODELS['qwen3_vl']}",
            template="qwen3_vl_nothink",
        ),
    ),
    "sft_video_lora": (
        "Supervised fine-tuning of the tiny Qwen2-VL model with LoRA on questions about the demo clips.",
        _training(
            "sft_video_lora",
            "sft",
            LORA,
            "demo_video,demo_frames",
            model=f"models/{VLM_MODELS['qwen2_vl']}",
            template="qwen2_vl",
        ),
    ),
    "sft_audio_lora": (
        "Supervised fine-tuning of the tiny Qwen2-Audio model with LoRA on questions about the demo tones.",
        _training(
            "sft_audio_lora",
            "sft",
            LORA,
            "demo_audio",
            model=f"models/{VLM_MODELS['qwen2_audio']}",
            template="qwen2_audio",
        ),
    ),
    "merge_lora": (
        "Merge the LoRA adapter of sft_lora.yaml into the tiny model and save the result (run sft_lora first).",
        [
            (
                "model",
                {
                    "model_name_or_path": MODEL_PATH,
                    "adapter_name_or_path": "runs/sft_lora",
                    "template": "qwen",
                    "finetuning_type": "lora",
                },
            ),
            (
                "export",
                {
                    "export_dir": MERGED_MODEL_PATH,
                    "export_size": 1,
                    "export_device": "cpu",
                    "export_legacy_format": False,
                },
            ),
        ],
    ),
    "chat": (
        "Chat with the tiny model and the LoRA adapter of sft_lora.yaml (run sft_lora first).",
        [
            (
                "model",
                {
                    "model_name_or_path": MODEL_PATH,
                    "adapter_name_or_path": "runs/sft_lora",
                    "template": "qwen",
                    "finetuning_type": "lora",
                    "infer_backend": "huggingface",
                },
            ),
            ("generate", {"max_new_tokens": 64}),
        ],
    ),
}
"""Config name -> (the comment on its first line, its sections of LLaMA-Factory keys)."""


def demo_config_names() -> list[str]:
    """Names of the example configs, in the order a user would run them (``configs/<name>.yaml``)."""
    return list(CONFIGS)


def _yaml_scalar(value: Scalar) -> str:
    """``value`` as YAML that PyYAML and ruamel read back as the same type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value < 0.01:
        mantissa, exponent = f"{value:.1e}".split("e")
        return f"{mantissa}e{int(exponent)}"  # 1.0e-3: a float in YAML 1.1 as well as 1.2
    return str(value)


def render_config(name: str) -> str:
    """The text of ``configs/<name>.yaml``: a comment line, then ``### section`` blocks of ``key: value``."""
    comment, sections = CONFIGS[name]
    blocks = [f"# {comment}"]
    for title, keys in sections:
        blocks.append("\n".join([f"### {title}", *(f"{key}: {_yaml_scalar(value)}" for key, value in keys.items())]))
    return "\n\n".join(blocks) + "\n"


def render_readme() -> str:
    """The workspace's README.md."""
    datasets = "\n".join(f"  - `{name}`: `{DATA_DIR}/{info['file_name']}`" for name, (info, _) in DATASETS.items())
    configs = "\n".join(f"  - `configs/{name}.yaml`: {comment}" for name, (comment, _) in CONFIGS.items())
    return f"""{README_HEADER}

Made by `lmf-engine demo init`. Everything here is local and small enough to train on a CPU in seconds.

- `models/{DEMO_MODEL_DIRNAME}/`: a byte-level BPE tokenizer with Qwen2's chat format and a 2-layer Qwen2 model
  with random weights. It learns the demo data quickly and knows nothing else.
- `{DATA_DIR}/{DATASET_INFO}`: the dataset registry, in LLaMA-Factory's format:
{datasets}
- `configs/`: example configs with LLaMA-Factory's keys; paths are relative to this folder:
{configs}
- `runs/`: the configs' `output_dir`s.

Run from this folder, e.g. `lmf-engine config validate configs/sft_lora.yaml`. The same configs work with
LLaMA-Factory: `llamafactory-cli train configs/sft_lora.yaml`. Replace `{{{{name}}}}` and `{{{{author}}}}` in
`{DATA_DIR}/demo_identity.json` to give the assistant an identity.
"""
