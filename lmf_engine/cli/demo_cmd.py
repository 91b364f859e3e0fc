"""``lmf-engine demo init`` and ``lmf-engine demo model``."""

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="The built-in demo workspace (tiny local model, datasets, configs).", no_args_is_help=True)


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Workspace folder to create.")] = Path("lmf-demo"),
    force: Annotated[bool, typer.Option("--force", help="Rewrite the demo's own files if they exist.")] = False,
) -> None:
    """Create a demo workspace: a tiny chat model, datasets for every stage and example configs. No download."""
    from lmf_engine.demo.workspace import init_demo_workspace

    try:
        root = init_demo_workspace(directory, force=force)
    except FileExistsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"demo workspace ready: {root}")
    typer.echo(f"  try: cd {root} && lmf-engine config validate configs/sft_lora.yaml")


@app.command()
def model(
    directory: Annotated[Path, typer.Argument(help="Folder to write the model to.")],
    untied: Annotated[
        bool, typer.Option("--untied", help="Give the output head its own weights (tie_word_embeddings: false).")
    ] = False,
) -> None:
    """Write a tiny random chat model like the demo's (2 layers, its own tokenizer) to DIRECTORY. No download."""
    from lmf_engine.model.tiny import build_tiny_model

    out = build_tiny_model(directory, tie_word_embeddings=not untied)
    typer.echo(f"tiny model written: {out}")
