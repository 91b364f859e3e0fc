"""Stage ``kto``: Kahneman-Tversky optimisation on answers tagged desirable or undesirable, as LLaMA-Factory's
``run_kto``."""

from .common import (
    StageContext,
    check_eval_data,
    eval_keys,
    label_pad_token_id,
    media_collation,
    prepare_stage_data,
    save_eval_metrics,
    train_and_save,
)


def run(ctx: StageContext) -> None:
    """Train (and evaluate); the reference model is ``ref_model``, a frozen copy, or the base of LoRA."""
    from lmf_engine.model.loader import load_model

    from .args import training_arguments
    from .kto_trainer import KTOTrainer
    from .pairwise import KTOCollator
    from .preference import create_ref_model

    config = ctx.config
    args = training_arguments(config, ctx.run_dir)
    data = prepare_stage_data(ctx, args, stage="kto")
    check_eval_data(config, data.eval is not None)
    tokenizer = data.tokenizer
    model = load_model(config, tokenizer, is_trainable=args.do_train)
    collator = KTOCollator(
        tokenizer=tokenizer,
        pad_to_multiple_of=8,
        label_pad_token_id=label_pad_token_id(config, tokenizer),
        media=media_collation(config, data, model),
    )
    own = config.get("ref_model") is None and not args.do_train
    ref_model = model if own else create_ref_model(config)
    trainer = KTOTrainer(
        model=model,
        ref_model=ref_model,
        args=args,
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=ctx.callbacks(),
        lmf_config=config,
        train_dataset=data.train,
        eval_dataset=data.eval,
    )
    if args.do_train and not train_and_save(ctx, trainer, ["rewards/chosen", *eval_keys(data, ("loss",))]):
        return
    if args.do_eval:
        metrics = trainer.evaluate(metric_key_prefix="eval")
        if ref_model is model:
            metrics = {key: value for key, value in metrics.items() if "rewards" not in key}
        save_eval_metrics(trainer, metrics)
