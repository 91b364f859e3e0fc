"""``lmf-engine llama-pro MODEL OUTPUT --num-expand N``: write a block-expanded model for LLaMA Pro training
(LLaMA-Factory's ``scripts/llama_pro.py``)."""

from pathlib import Path
from typing import Annotated

import typer

from .output import print_json, user_errors

ModelArg = Annotated[str, typer.Argument(help="The model to expand: a local folder or a hub id.", show_default=False)]
OutputArg = Annotated[Path, typer.Argument(help="Folder to write the expanded model to.", show_default=False)]
NumExpandOpt = Annotated[
    int, typer.Option("--num-expand", min=1, help="Blocks to add; must divide the model's number of layers.")
]
ShardSizeOpt = Annotated[str, typer.Option("--shard-size", help="Largest weights file, e.g. 5GB.")]
RemoteCodeOpt = Annotated[bool, typer.Option("--trust-remote-code", help="Run the model's own code from its folder.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print what was written as JSON.")]


def llama_pro(
    model: ModelArg,
    output: OutputArg,
    num_expand: NumExpandOpt,
    shard_size: ShardSizeOpt = "5GB",
    trust_remote_code: RemoteCodeOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Add N blocks (--num-expand N) to MODEL of L layers: after every L/N layers, a copy of the last one whose
    o_proj and down_proj are zero, so the new model computes what MODEL computes. Then train only them with
    finetuning_type: freeze, use_llama_pro: true, freeze_trainable_layers: N. Exit code 2 for a model problem."""
    import logging

    from lmf_engine.model.llama_pro import expand_model

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with user_errors():
        result = expand_model(model, output, num_expand, shard_size=shard_size, trust_remote_code=trust_remote_code)
    summary = {
        "output_dir": str(result.output_dir.resolve()),
        "num_hidden_layers": result.num_layers,
        "expanded_layers": list(result.expanded_layers),
    }
    if as_json:
        print_json(summary)
        return
    layers = ", ".join(map(str, result.expanded_layers))
    typer.echo(f"wrote a {result.num_layers}-layer model to {summary['output_dir']} (new layers: {layers})")
    typer.echo("train only the new layers with:")
    typer.echo(f"  model_name_or_path: {output}")
    typer.echo("  finetuning_type: freeze")
    typer.echo(f"  freeze_trainable_layers: {num_expand}")
    typer.echo("  use_llama_pro: true")
