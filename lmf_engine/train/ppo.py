"""Stage ``ppo``: reinforcement learning from a reward model with PPO, as LLaMA-Factory's ``run_ppo``.

The policy gets a value head; the reward model is ``reward_model`` (an rm run's adapter with
``reward_model_type: lora``, a full model, or a scoring server with ``api``). Answers are generated with the
generation keys (``max_new_tokens``, ``temperature``, ...). Writes the adapter or model with value_head.safetensors,
the tokenizer, trainer_state.json and train/all results.
"""

from .common import StageContext, plot_loss, prepare_stage_data


def run(ctx: StageContext) -> None:
    """Train with PPO (training only: there is no evaluation in this stage)."""
    from lmf_engine.data.templates.fixes import stop_token_ids
    from lmf_engine.model.loader import load_model

    from .args import training_arguments
    from .collators import SFTCollator
    from .ppo_rewards import create_reward_model
    from .ppo_trainer import PPOTrainer
    from .preference import create_ref_model
    from .sft import generation_kwargs

    config = ctx.config
    args = training_arguments(config, ctx.run_dir)
    data = prepare_stage_data(ctx, args, stage="ppo")
    if data.eval is not None:
        raise ValueError("stage ppo does not evaluate: remove val_size and eval_dataset")
    tokenizer = data.tokenizer
    model = load_model(config, tokenizer, is_trainable=True, add_valuehead=True)
    tokenizer.padding_side = "left"
    ref_model = create_ref_model(config, add_valuehead=True)
    reward_model = create_reward_model(model, config)
    trainer = PPOTrainer(
        model=model,
        ref_model=ref_model,
        reward_model=reward_model,
        generation_kwargs=generation_kwargs(config, tokenizer, stop_token_ids(data.template, tokenizer)),
        args=args,
        data_collator=SFTCollator(tokenizer=tokenizer, pad_to_multiple_of=None),
        processing_class=tokenizer,
        callbacks=ctx.callbacks(),
        lmf_config=config,
        train_dataset=data.train,
    )
    metrics = trainer.ppo_train(resume_from_checkpoint=ctx.resume_from)
    if ctx.stop.requested:
        return
    trainer.save_model()
    trainer.log_metrics("train", metrics)
    trainer.save_metrics("train", metrics)
    trainer.save_state()
    if trainer.is_world_process_zero() and config.get("plot_loss"):
        plot_loss(ctx.run_dir, ["loss", "reward"])
