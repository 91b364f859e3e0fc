"""What the ``lmf-engine`` commands share: JSON and rich output, and user errors as one message with exit code 2.

A user error is anything the user can fix in a config, a data file or a command line (:func:`user_error_types`);
it is printed on stderr without a traceback and the command exits with :data:`USER_ERROR`. Anything else is a
bug and keeps its traceback.
"""

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from lmf_engine.config import ConfigIssue

USER_ERROR = 2

OverridesArg = Annotated[
    list[str] | None, typer.Argument(help="key=value overrides, applied after the file.", show_default=False)
]
"""The ``key=value ...`` arguments every command that reads a config takes."""


def fail(message: str) -> NoReturn:
    """Print ``error: message`` on stderr and exit with :data:`USER_ERROR`."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(USER_ERROR)


def report_config_issues(source: object, issues: "Sequence[ConfigIssue]") -> NoReturn:
    """Print every config problem (file:line, key, what is allowed) and a count line, then exit 2."""
    for issue in issues:
        typer.echo(str(issue), err=True)
    noun = "problem" if len(issues) == 1 else "problems"
    typer.echo(f"{source or '<config>'}: {len(issues)} {noun}", err=True)
    raise typer.Exit(USER_ERROR)


def user_error_types() -> tuple[type[Exception], ...]:
    """The exceptions that describe a user's mistake (imported on demand: none of them pulls in torch)."""
    from lmf_engine.config.errors import ConfigError
    from lmf_engine.data.errors import DataError
    from lmf_engine.data.preview import PreviewError
    from lmf_engine.data.templates.slots import TemplateError
    from lmf_engine.model.tokenizer import ModelLoadError

    return ConfigError, DataError, PreviewError, TemplateError, ModelLoadError


@contextmanager
def user_errors(config_source: object = None) -> Iterator[None]:
    """Turn a user error raised inside the block into one message on stderr and exit code 2.

    A :class:`ConfigError` prints each of its issues, then a count naming ``config_source``.
    """
    try:
        yield
    except Exception as exc:
        from lmf_engine.config.errors import ConfigError

        if isinstance(exc, ConfigError):
            report_config_issues(config_source, exc.issues)
        if isinstance(exc, user_error_types()):
            fail(str(exc))
        raise


def print_json(value: Any) -> None:
    """One JSON document on stdout."""
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def console(stderr: bool = False) -> "Console":
    """A rich console on stdout (or stderr); rich decides colours and width from the terminal."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def human_size(size: int | None) -> str:
    """``1536`` -> ``1.5 KiB``; None -> ``""``."""
    if size is None:
        return ""
    value, unit = float(size), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            break
        value /= 1024
    return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
