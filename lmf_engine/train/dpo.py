"""Stage ``dpo``: preference optimisation on chosen/rejected pairs (DPO, IPO, hinge, ORPO, SimPO), as
LLaMA-Factory's ``run_dpo``."""

from .common import (
    StageContext,
    check_eval_data,
    collator_for,
    eval_keys,
    label_pad_token_id,
    media_collation,
    prepare_stage_data,
    save_eval_metrics,
    train_and_save,
)


def run(ctx: StageContext) -> None:
    """Train (and evaluate) on pairs; the reference model is ``ref_model``, a frozen copy, or the base of LoRA."""
    from lmf_engine.model.loader import load_model

    from .args import training_arguments
    from .dpo_trainer import DPOTrainer, uses_ref_model
    from .pairwise import PairwiseCollator
    from .preference import create_ref_model

    config = ctx.config
    args = training_arguments(config, ctx.run_dir)
    data = prepare_stage_data(ctx, args, stage="dpo")
    check_eval_data(config, data.eval is not None)
    tokenizer = data.tokenizer
    model = load_model(config, tokenizer, is_trainable=args.do_train)
    collator = PairwiseCollator(
        tokenizer=tokenizer,
        pad_to_multiple_of=8,
        label_pad_token_id=label_pad_token_id(config, tokenizer),
        media=media_collation(config, data, model),
    )
    ref_model = None
    if uses_ref_model(config.get("pref_loss")):
        own = config.get("ref_model") is None and not args.do_train
        ref_model = model if own else create_ref_model(config)
    trainer = DPOTrainer(
        model=model,
        ref_model=ref_model,
        args=args,
        data_collator=collator_for(data, collator),
        processing_class=tokenizer,
        callbacks=ctx.callbacks(),
        lmf_config=config,
        train_dataset=data.train,
        eval_dataset=data.eval,
    )
    if args.do_train and not train_and_save(ctx, trainer, ["rewards/accuracies", *eval_keys(data, ("loss",))]):
        return
    if args.do_eval:
        metrics = trainer.evaluate(metric_key_prefix="eval")
        if ref_model is model:
            metrics = {key: value for key, value in metrics.items() if "rewards" not in key}
        save_eval_metrics(trainer, metrics)
