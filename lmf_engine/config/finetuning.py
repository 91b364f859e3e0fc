"""The ``finetuning`` group: stage, method, and the knobs of each method and loss."""

from dataclasses import dataclass
from typing import Literal

from .fields import opt


@dataclass
class FinetuningConfig:
    """What is trained (stage), which parameters (method) and the stage's loss settings."""

    stage: Literal["pt", "sft", "rm", "ppo", "dpo", "kto"] = opt("sft", "Training stage.")
    finetuning_type: Literal["lora", "oft", "freeze", "full"] = opt("lora", "Which parameters are trained.")
    freeze_trainable_layers: int = opt(
        2, "Freeze: train the last n layers (positive) or the first n (negative).", advanced=False
    )
    freeze_trainable_modules: str = opt("all", "Freeze: trainable modules inside those layers, comma-separated.")
    freeze_extra_modules: str | None = opt(
        None, "Freeze: modules outside the hidden layers to train too, comma-separated.", advanced=True
    )
    freeze_vision_tower: bool = opt(True, "Multimodal models: keep the vision (or audio) encoder frozen.")
    freeze_multi_modal_projector: bool = opt(True, "Multimodal models: keep the projector frozen.")
    freeze_language_model: bool = opt(False, "Multimodal models: keep the language model frozen.")
    use_llama_pro: bool = opt(
        False,
        "LLaMA Pro: train only the expanded blocks (see `lmf-engine llama-pro`); freeze_trainable_layers is their "
        "number.",
        advanced=True,
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
    oft_rank: int = opt(
        0, "OFT: number of orthogonal blocks per layer (0: set by oft_block_size).", ge=0, advanced=True
    )
    oft_block_size: int = opt(32, "OFT: size of each orthogonal block (0: set by oft_rank).", ge=0, advanced=True)
    oft_target: str = opt(
        "all",
        "OFT: modules named for OFT; LLaMA-Factory 0.9.5 ignores it and applies OFT to lora_target's modules.",
        advanced=True,
    )
    module_dropout: float = opt(0.0, "OFT: probability of dropping a whole OFT block.", ge=0, lt=1, advanced=True)
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
    ref_model: str | None = opt(None, "Reference model of DPO/KTO/PPO/ASFT (default: the model).", advanced=True)
    ref_model_adapters: str | None = opt(None, "Adapters of the reference model.", advanced=True)
    ref_model_quantization_bit: Literal[4, 8] | None = opt(None, "Quantize the reference model.", advanced=True)
    reward_model: str | None = opt(None, "Reward model for PPO: an rm run's output or a model folder.")
    reward_model_adapters: str | None = opt(None, "Adapters of the reward model.", advanced=True)
    reward_model_quantization_bit: Literal[4, 8] | None = opt(None, "Quantize the reward model.", advanced=True)
    reward_model_type: Literal["lora", "full", "api"] = opt("lora", "Kind of reward model for PPO.")
    use_dft_loss: bool = opt(False, "SFT: DFT loss (each token's loss weighted by its probability).", advanced=True)
    use_eaft_loss: bool = opt(
        False, "SFT: EAFT loss (each token's loss weighted by its top-20 entropy).", advanced=True
    )
    eaft_alpha: float = opt(1.0, "EAFT: power of the entropy weight.", advanced=True)
    use_asft_loss: bool = opt(False, "SFT: ASFT loss (DFT plus a KL term to a frozen reference model).", advanced=True)
    asft_alpha: float = opt(0.1, "ASFT: weight of the KL term.", advanced=True)
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
    use_swanlab: bool = opt(
        False, "Log the run to SwanLab with the swanlab_* settings (needs the swanlab extra).", advanced=True
    )
    swanlab_project: str | None = opt("llamafactory", "SwanLab: project name.", advanced=True)
    swanlab_workspace: str | None = opt(None, "SwanLab: workspace (default: your own).", advanced=True)
    swanlab_run_name: str | None = opt(None, "SwanLab: experiment name.", advanced=True)
    swanlab_mode: Literal["cloud", "local", "offline", "disabled"] = opt(
        "cloud", "SwanLab: cloud (upload), local, offline (saved to sync later) or disabled.", advanced=True
    )
    swanlab_api_key: str | None = opt(None, "SwanLab: API key to log in with.", advanced=True)
    swanlab_logdir: str | None = opt(None, "SwanLab: folder of local and offline logs.", advanced=True)
    swanlab_lark_webhook_url: str | None = opt(
        None, "SwanLab: Lark (Feishu) webhook notified of the run.", advanced=True
    )
    swanlab_lark_secret: str | None = opt(None, "SwanLab: secret of the Lark webhook.", advanced=True)
    use_galore: bool = opt(
        False, "GaLore optimizer: gradient low-rank projection (freeze or full tuning).", advanced=True
    )
    galore_target: str = opt(
        "all", "GaLore: linear modules to project (`all` or names, comma-separated).", advanced=True
    )
    galore_rank: int = opt(16, "GaLore: rank of the projected gradients.", ge=1, advanced=True)
    galore_update_interval: int = opt(200, "GaLore: steps between projection updates.", ge=1, advanced=True)
    galore_scale: float = opt(2.0, "GaLore: scale of the projected update.", advanced=True)
    galore_proj_type: Literal["std", "reverse_std", "right", "left", "full"] = opt(
        "std", "GaLore: projection type.", advanced=True
    )
    galore_layerwise: bool = opt(False, "GaLore: step each parameter during backward to save memory.", advanced=True)
    use_apollo: bool = opt(False, "APOLLO optimizer: low-rank scaled AdamW (freeze or full tuning).", advanced=True)
    apollo_target: str = opt(
        "all", "APOLLO: linear modules to project (`all` or names, comma-separated).", advanced=True
    )
    apollo_rank: int = opt(16, "APOLLO: rank of the projected gradients.", ge=1, advanced=True)
    apollo_update_interval: int = opt(200, "APOLLO: steps between projection updates.", ge=1, advanced=True)
    apollo_scale: float = opt(32.0, "APOLLO: scale of the update.", advanced=True)
    apollo_proj: Literal["svd", "random"] = opt("random", "APOLLO: low-rank projection algorithm.", advanced=True)
    apollo_proj_type: Literal["std", "right", "left"] = opt("std", "APOLLO: projection type.", advanced=True)
    apollo_scale_type: Literal["channel", "tensor"] = opt(
        "channel", "APOLLO: scaling per channel or per tensor.", advanced=True
    )
    apollo_layerwise: bool = opt(False, "APOLLO: step each parameter during backward to save memory.", advanced=True)
    apollo_scale_front: bool = opt(False, "APOLLO: norm-growth limiter before the gradient scaling.", advanced=True)
    use_badam: bool = opt(False, "BAdam optimizer: block coordinate descent (freeze or full tuning).", advanced=True)
    badam_mode: Literal["layer", "ratio"] = opt(
        "layer", "BAdam: update one block of layers, or a ratio of each weight.", advanced=True
    )
    badam_start_block: int | None = opt(
        None, "BAdam layer mode: index of the first block (default: by switch mode).", advanced=True
    )
    badam_switch_mode: Literal["ascending", "descending", "random", "fixed"] | None = opt(
        "ascending", "BAdam layer mode: order in which blocks are trained.", advanced=True
    )
    badam_switch_interval: int | None = opt(
        50, "BAdam layer mode: steps before switching to the next block.", advanced=True
    )
    badam_update_ratio: float = opt(0.05, "BAdam ratio mode: share of each weight updated.", ge=0, le=1, advanced=True)
    badam_mask_mode: Literal["adjacent", "scatter"] = opt(
        "adjacent", "BAdam ratio mode: updated entries adjacent or scattered at random.", advanced=True
    )
    badam_verbose: int = opt(
        0, "BAdam: 0 quiet, 1 print the block, 2 print the trainable parameters.", ge=0, advanced=True
    )
    use_adam_mini: bool = opt(False, "Adam-mini optimizer: one second moment per parameter block.", advanced=True)
    use_muon: bool = opt(False, "Muon optimizer for 2-D weights (AdamW for the rest).", advanced=True)
