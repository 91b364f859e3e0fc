"""``lmf-engine config validate|show|schema``."""

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from .output import OverridesArg, report_config_issues

app = typer.Typer(help="Check, resolve and describe configs (LLaMA-Factory YAML keys).", no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="YAML or JSON config file.", show_default=False)]


def _check(file: Path, overrides: list[str] | None, names: bool = False):
    from lmf_engine.config import check_config

    config, issues = check_config(file, overrides or [])
    if not issues and names:
        from lmf_engine.data.config_names import name_issues

        issues = name_issues(config, file)
    if issues:
        report_config_issues(file, issues)
    return config


@app.command()
def validate(file: FileArg, overrides: OverridesArg = None) -> None:
    """Exit 0 when the config is valid (its template and dataset names known, relative to the current folder as
    LLaMA-Factory reads them); otherwise print every problem with file:line and exit 2."""
    config = _check(file, overrides, names=True)
    typer.echo(f"{file}: valid ({len(config.explicit)} keys set)")


@app.command()
def show(
    file: FileArg,
    overrides: OverridesArg = None,
    all_keys: Annotated[bool, typer.Option("--all", help="Include keys left at their defaults.")] = False,
) -> None:
    """Print the resolved config (file + overrides) as YAML, grouped."""
    from lmf_engine.config.save import render_yaml

    config = _check(file, overrides)
    sys.stdout.write(render_yaml(config.to_flat(include_defaults=all_keys)))


@app.command()
def schema() -> None:
    """Print the JSON Schema of every key: type, default, choices, range, help, group, advanced."""
    from lmf_engine.config.schema import config_schema

    typer.echo(json.dumps(config_schema(), indent=2))
