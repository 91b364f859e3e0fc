"""Rules that involve more than one key. Each returns the keys at fault and what is wrong."""

from collections.abc import Callable, Iterator

from .groups import Config
from .optimizer_extras import APOLLO_CLASSES, GALORE_CLASSES

Problem = tuple[tuple[str, ...], str]
Rule = Callable[[Config], Iterator[Problem]]


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()] if value else []


def data_rules(c: Config) -> Iterator[Problem]:
    d = c.data
    if d.mask_history and d.train_on_prompt:
        yield ("mask_history", "train_on_prompt"), "mask_history cannot be used with train_on_prompt"
    if d.val_size > 1e-6 and d.eval_dataset:
        yield ("val_size", "eval_dataset"), "give either val_size or eval_dataset, not both"
    if d.val_size > 1e-6 and not d.dataset:
        yield ("val_size",), "val_size needs a dataset to split"
    if d.val_size >= 1 and not float(d.val_size).is_integer():
        yield ("val_size",), "val_size must be a fraction in [0, 1) or a whole number of rows"
    if d.interleave_probs is not None:
        if d.mix_strategy == "concat":
            yield ("interleave_probs", "mix_strategy"), "interleave_probs needs an interleave_* mix_strategy"
        try:
            probs = [float(p) for p in _split(d.interleave_probs)]
        except ValueError:
            yield ("interleave_probs",), "must be numbers separated by commas"
        else:
            if d.dataset and len(probs) != len(_split(d.dataset)):
                yield ("interleave_probs", "dataset"), "needs one probability per dataset"
            if any(p < 0 for p in probs) or abs(sum(probs) - 1) > 1e-6:
                yield ("interleave_probs",), "probabilities must be >= 0 and add up to 1"
    if (d.packing or d.neat_packing) and d.cutoff_len < 2:
        yield ("cutoff_len", "packing"), "packing needs cutoff_len of at least 2"
    if d.streaming and 0 < d.val_size < 1:
        yield ("val_size", "streaming"), "with streaming, val_size must be a whole number of rows"
    if d.streaming and d.max_samples is not None:
        yield ("max_samples", "streaming"), "max_samples cannot be used with streaming"
    if d.streaming and c.training.do_train and c.training.max_steps <= 0:
        yield ("streaming", "max_steps"), "streaming needs max_steps > 0"


def stage_rules(c: Config) -> Iterator[Problem]:
    f, t, d = c.finetuning, c.training, c.data
    if f.stage != "sft":
        if t.predict_with_generate:
            yield ("predict_with_generate", "stage"), "predict_with_generate is only for stage sft"
        if d.neat_packing:
            yield ("neat_packing", "stage"), "neat_packing is only for stage sft"
        if d.train_on_prompt or d.mask_history:
            key = "train_on_prompt" if d.train_on_prompt else "mask_history"
            yield (key, "stage"), f"{key} is only for stage sft"
    if f.stage == "sft" and t.do_predict and not t.predict_with_generate:
        yield ("do_predict", "predict_with_generate"), "do_predict needs predict_with_generate: true"
    if t.predict_with_generate and f.compute_accuracy:
        yield (
            ("predict_with_generate", "compute_accuracy"),
            "predict_with_generate cannot be used with compute_accuracy",
        )
    if f.stage in ("rm", "ppo") and t.load_best_model_at_end:
        yield ("load_best_model_at_end", "stage"), f"stage {f.stage} does not support load_best_model_at_end"
    if f.stage == "ppo":
        if not f.reward_model:
            yield ("reward_model", "stage"), "stage ppo needs a reward_model"
        if f.reward_model_type == "lora" and f.finetuning_type != "lora":
            yield ("reward_model_type", "finetuning_type"), "a lora reward model needs finetuning_type: lora"
        if not t.do_train:
            yield ("do_train", "stage"), "stage ppo only trains; evaluate with stage sft"
    if f.stage == "dpo" and f.pref_loss != "sigmoid" and f.dpo_label_smoothing > 1e-6:
        yield ("dpo_label_smoothing", "pref_loss"), "dpo_label_smoothing only works with pref_loss: sigmoid"
    if t.do_train and not d.dataset:
        yield ("dataset", "do_train"), "training needs a dataset"
    if t.eval_strategy != "no" and not d.eval_dataset and d.val_size <= 1e-6:
        yield ("eval_strategy", "val_size"), "evaluation needs eval_dataset or val_size > 0"


def method_rules(c: Config) -> Iterator[Problem]:
    m, f, t = c.model, c.finetuning, c.training
    if m.adapter_name_or_path and f.finetuning_type not in ("lora", "oft"):
        yield (
            ("adapter_name_or_path", "finetuning_type"),
            "adapters can only be loaded with finetuning_type: lora or oft",
        )
    if f.finetuning_type != "lora":
        for key in ("loraplus_lr_ratio", "use_rslora", "use_dora", "pissa_init"):
            if c.get(key) not in (None, False):
                yield (key, "finetuning_type"), f"{key} is only for finetuning_type: lora"
    if m.quantization_bit is not None:
        if f.finetuning_type not in ("lora", "oft"):
            yield (
                ("quantization_bit", "finetuning_type"),
                "quantization needs finetuning_type: lora (QLoRA) or oft (QOFT)",
            )
        if f.pissa_init:
            yield ("pissa_init", "quantization_bit"), "PiSSA cannot be initialised on a quantized model"
        if m.resize_vocab:
            yield ("resize_vocab", "quantization_bit"), "the vocabulary of a quantized model cannot be resized"
        if m.adapter_name_or_path and f.create_new_adapter:
            yield ("create_new_adapter", "quantization_bit"), "a quantized model cannot take a new adapter"
        if m.adapter_name_or_path and len(_split(m.adapter_name_or_path)) != 1:
            yield ("adapter_name_or_path", "quantization_bit"), "a quantized model takes one adapter; merge first"
    if t.do_train and m.quantization_device_map == "auto":
        yield ("quantization_device_map", "do_train"), "a device map cannot be used to train a quantized model"
    if (t.fp8 or t.fp8_enable_fsdp_float8_all_gather) and m.quantization_bit is not None:
        key = "fp8" if t.fp8 else "fp8_enable_fsdp_float8_all_gather"
        yield (key, "quantization_bit"), "FP8 training cannot be used with quantization_bit; remove one of them"
    if f.finetuning_type == "oft" and (f.oft_rank == 0) == (f.oft_block_size == 0):
        yield ("oft_rank", "oft_block_size"), "OFT needs exactly one of oft_rank and oft_block_size above 0"
    if t.bf16 and t.fp16:
        yield ("bf16", "fp16"), "choose bf16 or fp16, not both"
    if f.pure_bf16 and (t.bf16 or t.fp16):
        yield ("pure_bf16", "bf16"), "pure_bf16 replaces mixed precision; leave bf16 and fp16 off"
    if m.infer_backend == "vllm" and m.quantization_bit is not None:
        yield ("infer_backend", "quantization_bit"), "vLLM cannot load bitsandbytes on-the-fly quantization"
    if m.infer_backend == "vllm" and m.adapter_name_or_path and len(_split(m.adapter_name_or_path)) != 1:
        yield ("infer_backend", "adapter_name_or_path"), "vLLM serves one adapter; merge the others first"
    if m.infer_backend == "sglang":
        if m.quantization_bit is not None:
            yield ("infer_backend", "quantization_bit"), "SGLang cannot load bitsandbytes on-the-fly quantization"
        if m.adapter_name_or_path and len(_split(m.adapter_name_or_path)) != 1:
            yield ("infer_backend", "adapter_name_or_path"), "SGLang serves one adapter; merge the others first"
        if t.do_train or t.do_predict:
            yield (
                ("infer_backend", "do_train" if t.do_train else "do_predict"),
                "infer_backend: sglang serves chat and the API only; train and predict with huggingface",
            )


SFT_LOSSES = ("use_dft_loss", "use_eaft_loss", "use_asft_loss")


def sft_loss_rules(c: Config) -> Iterator[Problem]:
    """DFT, EAFT and ASFT are losses of stage sft, one at a time; ASFT needs a model to compare with."""
    f = c.finetuning
    chosen = [key for key in SFT_LOSSES if c.get(key)]
    for key in chosen:
        if f.stage != "sft":
            yield (key, "stage"), f"{key} is a loss of stage sft only (stage {f.stage} has its own loss)"
    if len(chosen) > 1:
        yield tuple(chosen), f"choose one of {', '.join(SFT_LOSSES)}, not {' and '.join(chosen)}"
    if f.use_asft_loss and f.finetuning_type in ("lora", "oft") and not f.ref_model:
        yield (
            ("use_asft_loss", "ref_model"),
            f"ASFT with finetuning_type {f.finetuning_type} needs ref_model (a frozen copy of the starting model is "
            "made only for freeze and full tuning, as in LLaMA-Factory, where LoRA ASFT without ref_model fails)",
        )


def llama_pro_rules(c: Config) -> Iterator[Problem]:
    """LLaMA Pro trains the expanded blocks: freeze tuning or adapters on them, counted by freeze_trainable_layers."""
    f = c.finetuning
    if not f.use_llama_pro:
        return
    if f.finetuning_type == "full":
        yield ("use_llama_pro", "finetuning_type"), "use_llama_pro needs finetuning_type freeze, lora or oft, not full"
    if f.freeze_trainable_layers <= 0:
        yield (
            ("freeze_trainable_layers", "use_llama_pro"),
            "with use_llama_pro, freeze_trainable_layers is the number of expanded blocks and must be above 0",
        )


BLOCK_OPTIMIZERS = ("use_galore", "use_apollo", "use_badam")


def optimizer_rules(c: Config) -> Iterator[Problem]:
    """GaLore, APOLLO and BAdam (LLaMA-Factory's checks, and settings their packages would fail on)."""
    f, t = c.finetuning, c.training
    chosen = [key for key in BLOCK_OPTIMIZERS if c.get(key)]
    if len(chosen) > 1:
        yield tuple(chosen), f"choose one of use_galore, use_apollo and use_badam, not {' and '.join(chosen)}"
    for key in chosen:
        if f.finetuning_type == "lora":
            yield (key, "finetuning_type"), f"{key} trains the model's own weights: use finetuning_type full or freeze"
    for key, layerwise, optims in (
        ("use_galore", "galore_layerwise", GALORE_CLASSES),
        ("use_apollo", "apollo_layerwise", APOLLO_CLASSES),
    ):
        if not c.get(key):
            continue
        if t.optim not in optims:
            yield (key, "optim"), f"{key} works with optim {', '.join(optims)}, not {t.optim}"
        if t.deepspeed is not None:
            yield (key, "deepspeed"), f"{key} cannot be used with DeepSpeed"
        if c.get(layerwise) and t.gradient_accumulation_steps != 1:
            yield (layerwise, "gradient_accumulation_steps"), f"{layerwise} needs gradient_accumulation_steps: 1"
    if f.use_badam and f.badam_mode == "ratio":
        if f.badam_update_ratio <= 1e-6:
            yield ("badam_update_ratio", "badam_mode"), "BAdam ratio mode needs badam_update_ratio above 0"
        if t.optim != "adamw_torch":
            yield ("badam_mode", "optim"), f"BAdam ratio mode runs its own AdamW: set optim adamw_torch, not {t.optim}"
    if f.use_badam and f.badam_mode == "layer":
        for key in ("badam_switch_mode", "badam_switch_interval"):
            if c.get(key) is None:
                yield (key, "badam_mode"), f"BAdam layer mode needs {key}"


RULES: tuple[Rule, ...] = (data_rules, stage_rules, method_rules, sft_loss_rules, llama_pro_rules, optimizer_rules)
