"""``lmf-engine train CONFIG [key=value ...]``: start a training run in the background and follow it."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .output import OverridesArg, console, fail, report_config_issues

if TYPE_CHECKING:
    from lmf_engine.config import Config
    from lmf_engine.runs.launcher import LaunchedRun

ConfigArg = Annotated[
    Path, typer.Argument(help="YAML or JSON training config (LLaMA-Factory keys).", show_default=False)
]
DetachOpt = Annotated[bool, typer.Option("--detach", "-d", help="Print the run's name and return at once.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON output: the run, then one event per line.")]
WorkspaceOpt = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Folder relative paths resolve against (default: the current one)."),
]


def start_and_show(launch: "Callable[[], LaunchedRun]", *, detach: bool, as_json: bool, offset: int = 0) -> None:
    """Run ``launch()`` (which starts a run), then print it (``detach``) or follow its events from byte ``offset``.

    Exits with the run's end state when following.
    """
    from lmf_engine.cli.run_view import detach_hint, follow_to_end
    from lmf_engine.config.errors import ConfigError
    from lmf_engine.runs.launch_plan import LaunchError
    from lmf_engine.runs.launcher import RunStartError
    from lmf_engine.runs.store import RunStateError, open_run

    try:
        launched = launch()
    except ConfigError as err:
        report_config_issues(None, err.issues)
    except (RunStartError, LaunchError, RunStateError) as err:
        fail(str(err))
    info = open_run(launched.run_dir)
    summary = {"name": info.name, "path": str(info.path), "pid": launched.record.pid, "state": info.state}
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
    elif detach:
        typer.echo(info.name)
    else:
        typer.echo(f"run {info.name} started (pid {launched.record.pid}) in {info.path}", err=True)
    if detach:
        if not as_json:
            typer.echo(detach_hint(info.name), err=True)
        return
    try:
        out = console(stderr=False)
        code = follow_to_end(info, offset=offset, process=launched.process, as_json=as_json, console=out)
    except KeyboardInterrupt:  # Ctrl-C before following began detaches too
        typer.echo("\n" + detach_hint(info.name), err=True)
        code = 0
    raise typer.Exit(code)


def train(
    config: ConfigArg,
    overrides: OverridesArg = None,
    detach: DetachOpt = False,
    as_json: JsonOpt = False,
    workspace: WorkspaceOpt = None,
) -> None:
    """Validate the config, start the run in its own process session and follow its progress.

    The run goes on if this command exits, the terminal closes or the SSH connection drops; Ctrl-C only stops
    following. Exit code: 0 finished, 1 failed, 3 stopped, 2 for a config or launch problem.
    """
    launch(config, overrides or [], detach, as_json, workspace)


def launch(
    config: Path,
    overrides: list[str],
    detach: bool,
    as_json: bool,
    workspace: Path | None,
    check: "Callable[[Config], None] | None" = None,
) -> None:
    """Validate the config with ``overrides`` (and ``check``), start the run and show it (see :func:`train`)."""
    from lmf_engine.config import check_config
    from lmf_engine.data.config_names import name_issues
    from lmf_engine.runs.launcher import start_run

    if not config.is_file():
        fail(f"{config}: no such config file")
    loaded, issues = check_config(config, overrides)
    if not issues:
        issues = name_issues(loaded, config, workspace)
    if issues:
        report_config_issues(config, issues)
    if check is not None:
        check(loaded)
    start_and_show(lambda: start_run(loaded, config_path=config, workspace=workspace), detach=detach, as_json=as_json)
