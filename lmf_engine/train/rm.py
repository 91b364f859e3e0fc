"""Stage ``rm``: reward modelling on chosen/rejected pairs, as LLaMA-Factory's ``run_rm``.

The model gets a value head (saved as value_head.safetensors next to the adapter or weights, in every checkpoint
too); evaluation reports loss and pairwise accuracy, prediction writes the scores of each pair.
"""

from .common import (
    StageContext,
    check_eval_data,
    collator_for,
    eval_keys,
    media_collation,
    prepare_stage_data,
    save_eval_metrics,
    train_and_save,
)


def run(ctx: StageContext) -> None:
    """Train, evaluate and predict with a reward model."""
    from lmf_engine.model.loader import load_model

    from .args import training_arguments
    from .pairwise import PairwiseCollator
    from .rm_trainer import PairwiseAccuracy, PairwiseTrainer

    config = ctx.config
    args = training_arguments(config, ctx.run_dir)
    data = prepare_stage_data(ctx, args, stage="rm")
    check_eval_data(config, data.eval is not None)
    tokenizer = data.tokenizer
    model = load_model(config, tokenizer, is_trainable=args.do_train, add_valuehead=True)
    trainer = PairwiseTrainer(
        model=model,
        args=args,
        data_collator=collator_for(
            data,
            PairwiseCollator(tokenizer=tokenizer, pad_to_multiple_of=8, media=media_collation(config, data, model)),
        ),
        processing_class=tokenizer,
        callbacks=ctx.callbacks(),
        lmf_config=config,
        compute_metrics=PairwiseAccuracy(),
        train_dataset=data.train,
        eval_dataset=data.eval,
    )
    if args.do_train and not train_and_save(ctx, trainer, eval_keys(data, ("loss", "accuracy"))):
        return
    if args.do_eval:
        save_eval_metrics(trainer, trainer.evaluate(metric_key_prefix="eval"))
    if args.do_predict:
        results = trainer.predict(data.eval, metric_key_prefix="predict")
        save_eval_metrics(trainer, results.metrics, "predict")
        trainer.save_predictions(results)
