"""Stage ``sft``: supervised fine-tuning, as LLaMA-Factory's ``run_sft``.

Train, evaluate (loss, and token accuracy with ``compute_accuracy``) and predict (``do_predict``; with
``predict_with_generate`` the answers are generated and written to generated_predictions.jsonl).
"""

from typing import TYPE_CHECKING, Any

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
    trainer_datasets,
)

if TYPE_CHECKING:
    from lmf_engine.config import Config


def generation_kwargs(config: "Config", tokenizer: Any, stop_ids: list[int]) -> dict[str, Any]:
    """``generate`` arguments from the generating group: max_new_tokens wins over max_length; eos and stop words
    end an answer."""
    generating = config.generating
    kwargs: dict[str, Any] = {
        "do_sample": generating.do_sample,
        "temperature": generating.temperature,
        "top_p": generating.top_p,
        "top_k": generating.top_k,
        "num_beams": generating.num_beams,
        "repetition_penalty": generating.repetition_penalty,
        "length_penalty": generating.length_penalty,
    }
    if generating.max_new_tokens > 0:
        kwargs["max_new_tokens"] = generating.max_new_tokens
    else:
        kwargs["max_length"] = generating.max_length
    kwargs["eos_token_id"] = list(dict.fromkeys([tokenizer.eos_token_id, *stop_ids]))
    kwargs["pad_token_id"] = tokenizer.pad_token_id
    return kwargs


def run(ctx: StageContext) -> None:
    """Fine-tune on supervised (prompt, answer) data."""
    from lmf_engine.data.templates.fixes import stop_token_ids
    from lmf_engine.model.loader import load_model
    from lmf_engine.model.settings import compute_dtype

    from .args import training_arguments
    from .collators import SFTCollator
    from .predict import predict_in_parts
    from .preference import create_ref_model
    from .sft_losses import chosen_loss
    from .sft_trainer import ComputeAccuracy, ComputeSimilarity, SFTTrainer, argmax_logits

    config = ctx.config
    args = training_arguments(config, ctx.run_dir)
    data = prepare_stage_data(ctx, args, stage="sft", do_generate=args.predict_with_generate)
    check_eval_data(config, data.eval is not None)
    if config.get("infer_backend") == "vllm" and args.do_predict and args.predict_with_generate:
        _predict_with_vllm(ctx, args, data)
        return
    tokenizer = data.tokenizer
    model = load_model(config, tokenizer, is_trainable=args.do_train)
    ref_model = create_ref_model(config) if chosen_loss(config) == "asft" else None
    collator = SFTCollator(
        tokenizer=tokenizer,
        pad_to_multiple_of=8 if args.do_train else None,
        label_pad_token_id=label_pad_token_id(config, tokenizer),
        neat_packing=config.get("neat_packing"),
        attn_implementation=getattr(model.config, "_attn_implementation", None),
        compute_dtype=compute_dtype(config, model.config, args.do_train),
        media=media_collation(config, data, model),
    )
    metrics_kwargs: dict[str, Any] = {}
    if args.predict_with_generate:
        metrics_kwargs = {"compute_metrics": ComputeSimilarity(tokenizer)}
    elif config.get("compute_accuracy"):
        metrics_kwargs = {"compute_metrics": ComputeAccuracy(), "preprocess_logits_for_metrics": argmax_logits}
    gen_kwargs = generation_kwargs(config, tokenizer, stop_token_ids(data.template, tokenizer))
    trainer = SFTTrainer(
        model=model,
        args=args,
        data_collator=collator_for(data, collator),
        processing_class=tokenizer,
        callbacks=ctx.callbacks(),
        lmf_config=config,
        gen_kwargs=gen_kwargs,
        ref_model=ref_model,
        **trainer_datasets(data),
        **metrics_kwargs,
    )
    if args.do_train:
        plot = eval_keys(data, ("loss", "accuracy"))
        if not train_and_save(ctx, trainer, plot, tokens_dataset=data.train):
            return
    if args.predict_with_generate:
        tokenizer.padding_side = "left"
    if args.do_eval:
        save_eval_metrics(trainer, trainer.evaluate(metric_key_prefix="eval", **gen_kwargs))
    if args.do_predict and args.predict_with_generate:
        metrics = predict_in_parts(ctx, trainer, data.eval, gen_kwargs, config.get("skip_special_tokens"))
        if metrics:
            save_eval_metrics(trainer, metrics, "predict")
    elif args.do_predict:
        save_eval_metrics(trainer, trainer.predict(data.eval, metric_key_prefix="predict").metrics, "predict")


def _predict_with_vllm(ctx: StageContext, args: Any, data: Any) -> None:
    """``infer_backend: vllm``: predictions only, written and scored as the transformers path writes them."""
    import json

    from lmf_engine.model import vllm_args

    from .predict import vllm_predict

    if args.do_train or args.do_eval:
        raise ValueError("infer_backend: vllm predicts only; set do_train and do_eval to false (or use huggingface)")
    vllm_args.require_vllm()
    metrics = vllm_predict(ctx, data)
    (ctx.run_dir / "predict_results.json").write_text(json.dumps(metrics, indent=4, sort_keys=True), "utf-8")
    (ctx.run_dir / "all_results.json").write_text(json.dumps(metrics, indent=4, sort_keys=True), "utf-8")
