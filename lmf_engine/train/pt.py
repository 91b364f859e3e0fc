"""Stage ``pt``: (continued) pre-training on plain text, as LLaMA-Factory's ``run_pt``.

Rows are packed text blocks; the collator copies ``input_ids`` into ``labels`` with padding masked. Evaluation adds
perplexity (exp of the eval loss).
"""

import math
from typing import Any

from .common import (
    StageContext,
    check_eval_data,
    eval_keys,
    prepare_stage_data,
    save_eval_metrics,
    train_and_save,
    trainer_datasets,
)


def _add_perplexity(metrics: dict[str, float], data_eval: Any) -> None:
    names = [f"eval_{name}" for name in data_eval] if isinstance(data_eval, dict) else ["eval"]
    for prefix in names:
        try:
            metrics[f"{prefix}_perplexity"] = math.exp(metrics[f"{prefix}_loss"])
        except OverflowError:
            metrics[f"{prefix}_perplexity"] = float("inf")


def run(ctx: StageContext) -> None:
    """Train (and evaluate) a causal language model on plain text."""
    from transformers import DataCollatorForLanguageModeling, Trainer

    from lmf_engine.model.loader import load_model

    from .args import training_arguments
    from .trainer import WorkbenchTrainerMixin

    class PretrainTrainer(WorkbenchTrainerMixin, Trainer):
        """transformers' Trainer with the workbench additions."""

    args = training_arguments(ctx.config, ctx.run_dir)
    data = prepare_stage_data(ctx, args, stage="pt")
    check_eval_data(ctx.config, data.eval is not None)
    model = load_model(ctx.config, data.tokenizer, is_trainable=args.do_train)
    trainer = PretrainTrainer(
        model=model,
        args=args,
        data_collator=DataCollatorForLanguageModeling(tokenizer=data.tokenizer, mlm=False),
        processing_class=data.tokenizer,
        callbacks=ctx.callbacks(),
        lmf_config=ctx.config,
        **trainer_datasets(data),
    )
    if args.do_train and not train_and_save(ctx, trainer, eval_keys(data, ("loss",))):
        return
    if args.do_eval:
        metrics = trainer.evaluate(metric_key_prefix="eval")
        _add_perplexity(metrics, data.eval)
        save_eval_metrics(trainer, metrics)
