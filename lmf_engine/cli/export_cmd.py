"""``lmf-engine export CONFIG [key=value ...]``: merge adapters, cast, shard and save a model for serving.

As ``llamafactory-cli export``: the tokenizer is fixed for the config's template (its jinja chat template saved with
it) and an Ollama ``Modelfile`` is written next to the weights.
"""

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from .output import OverridesArg, fail, user_errors

ConfigArg = Annotated[
    Path,
    typer.Argument(
        help="YAML or JSON config: model_name_or_path, adapter_name_or_path, template, export_dir, export_size, "
        "infer_dtype.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print what was written as JSON.")]
WorkspaceOpt = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Folder relative paths resolve against (default: the current one)."),
]


def export(
    config: ConfigArg, overrides: OverridesArg = None, as_json: JsonOpt = False, workspace: WorkspaceOpt = None
) -> None:
    """Merge the config's LoRA adapters into the base model and save it to export_dir.

    Weights are cast to infer_dtype and sharded by export_size (GB); the tokenizer, its chat template and an Ollama
    Modelfile go with them. Exit code 2 for a config, model or export problem.
    """
    import logging

    from lmf_engine.config import load_config
    from lmf_engine.data.pipeline import template_for
    from lmf_engine.data.templates.ollama import ollama_modelfile
    from lmf_engine.model.export import ExportError, export_model
    from lmf_engine.model.tokenizer import load_tokenizer

    if not config.is_file():
        fail(f"{config}: no such config file")
    config = config.resolve()
    if workspace is not None:
        if not workspace.is_dir():
            fail(f"--workspace: {workspace} is not a folder")
        os.chdir(workspace)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with user_errors(config):
        loaded = load_config(config, overrides or [])
        try:
            tokenizer = load_tokenizer(loaded)
            template = template_for(loaded, tokenizer)
            result = export_model(loaded, tokenizer, modelfile=ollama_modelfile(template, tokenizer))
        except ExportError as exc:
            fail(str(exc))
    summary = {
        "export_dir": str(result.export_dir.resolve()),
        "dtype": result.dtype,
        "files": result.files,
        "hub_repo": result.hub_repo,
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    typer.echo(f"exported {result.dtype} model to {summary['export_dir']} ({len(result.files)} files)")
    if result.hub_repo:
        typer.echo(f"uploaded to https://huggingface.co/{result.hub_repo}")
