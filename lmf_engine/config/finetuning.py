"""The ``finetuning`` group: stage, method, and the knobs of each method and loss."""

from dataclasses import dataclass
from typing import Literal

from .fields import opt


@dataclass
class FinetuningConfig:
    """What is trained (stage), which parameters (method) and the stage's loss settings."""

    stage: Literal["pt", "sft", "rm", "ppo", "dpo", "kto"] = opt("sft", "Training stage.")
    finetuning_type: Literal["lora", "freeze", "full"] = opt("lora", "Which parameters are trained.")
    freeze_trainable_layers: int = opt(
        2, "Freeze: train the last n layers (positive) or the first n (negative).", advanced=False
    )
    freeze_trainable_modules: str = opt("all", "Freeze: trainable modules inside those layers, comma-separated.")
    freeze_extra_modules: str | None = opt(
        None, "Freeze: modules outside the hidden layers to train too, comma-separated.", advanced=True
    )
    lora_rank: int = opt(8, "LoRA rank.", ge=1)
    lora_alpha: int | None = opt(None, "LoRA scale factor (default: twice the rank).", ge=1)
    lora_dropout: float = opt(0.0, "Dropout on the LoRA path.", ge=0, lt=1)
    lora_target: str = opt("all", "Modules that get LoRA: all linear layers (`all`) or names, comma-separated.")
    additional_target: str | None = opt(
        None, "Modules besides LoRA layers to train and save, comma-separated.", advanced=True
    )
    loraplus_lr_ratio: float | None = opt(None, "LoRA+: learning-rate ratio of B to A.", gt=0, advanced=True)
    loraplus_lr_embedding: float = opt(1e-6, "LoRA+: learning rate of embedding adapters.", gt=0, advanced=True)
    use_rslora: bool = opt(False, "Rank-stabilised LoRA scaling.", advanced=True)
    use_dora: bool = opt(False, "Weight-decomposed LoRA (DoRA).", advanced=True)
    pissa_init: bool = opt(False, "Initialise the adapter with PiSSA.", advanced=True)
    pissa_iter: int = opt(16, "Fast-SVD iterations of PiSSA (-1 for exact SVD).", ge=-1, advanced=True)
    pissa_convert: bool = opt(False, "Convert the PiSSA adapter to a plain LoRA adapter when saving.", advanced=True)
    create_new_adapter: bool = opt(False, "Add a new adapter on top of the loaded ones.", advanced=True)
    pref_beta: float = opt(0.1, "Beta of the preference loss.", ge=0)
    pref_ftx: float = opt(0.0, "Weight of the SFT loss added to the DPO loss.", ge=0)
    pref_bco_weight: float = opt(0.0, "Weight of the BCO loss added to the DPO loss.", ge=0, advanced=True)
    pref_loss: Literal["sigmoid", "hinge", "ipo", "kto_pair", "orpo", "simpo"] = opt("sigmoid", "DPO loss type.")
    dpo_label_smoothing: float = opt(
        0.0, "Label smoothing of conservative DPO (sigmoid loss only).", ge=0, le=0.5, advanced=True
    )
    kto_chosen_weight: float = opt(1.0, "KTO weight of desirable examples.", ge=0)
    kto_rejected_weight: float = opt(1.0, "KTO weight of undesirable examples.", ge=0)
    simpo_gamma: float = opt(0.5, "SimPO target reward margin.", advanced=True)
    ld_alpha: float | None = opt(None, "LD-DPO weight of verbose-token log-probabilities.", ge=0, le=1, advanced=True)
    ppo_buffer_size: int = opt(1, "PPO: mini-batches per experience buffer.", ge=1, advanced=True)
    ppo_epochs: int = opt(4, "PPO: epochs per optimisation step.", ge=1, advanced=True)
    ppo_score_norm: bool = opt(False, "PPO: normalise reward scores.", advanced=True)
    ppo_target: float = opt(6.0, "PPO: target KL of the adaptive KL controller.", advanced=True)
    ppo_whiten_rewards: bool = opt(False, "PPO: whiten rewards before computing advantages.", advanced=True)
    ref_model: str | None = opt(None, "Reference model for DPO/KTO/PPO (default: the model itself).", advanced=True)
    ref_model_adapters: str | None = opt(None, "Adapters of the reference model.", advanced=True)
    ref_model_quantization_bit: Literal[4, 8] | None = opt(None, "Quantize the reference model.", advanced=True)
    reward_model: str | None = opt(None, "Reward model for PPO: an rm run's output or a model folder.")
    reward_model_adapters: str | None = opt(None, "Adapters of the reward model.", advanced=True)
    reward_model_quantization_bit: Literal[4, 8] | None = opt(None, "Quantize the reward model.", advanced=True)
    reward_model_type: Literal["lora", "full", "api"] = opt("lora", "Kind of reward model for PPO.")
    pure_bf16: bool = opt(False, "Train purely in bfloat16 without mixed precision.", advanced=True)
    compute_accuracy: bool = opt(False, "Report token accuracy at evaluation.", advanced=True)
    disable_shuffling: bool = opt(False, "Keep the training set in order.", advanced=True)
    early_stopping_steps: int | None = opt(
        None, "Stop after this many evaluations without improvement.", ge=1, advanced=True
    )
    plot_loss: bool = opt(False, "Save loss curves as PNG at the end.")
    include_effective_tokens_per_second: bool = opt(
        False, "Report tokens per second excluding padding.", advanced=True
    )
