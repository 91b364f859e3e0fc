"""``lmf-engine chat CONFIG [key=value ...]``: chat with a model in the terminal, answers streamed as they come."""

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .output import OverridesArg, fail, user_errors

if TYPE_CHECKING:
    from lmf_engine.chat import ChatEngine

ConfigArg = Annotated[
    str | None,
    typer.Argument(
        help="YAML or JSON config (model_name_or_path, adapter_name_or_path, template, infer_backend, generation "
        "keys), or a run folder (its base model and adapter, or its full model, with its template). Optional with "
        "--openai-base-url.",
        show_default=False,
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--openai-base-url", help="Chat with an OpenAI-compatible server instead (e.g. http://host:8000/v1)."
    ),
]
ApiKeyOpt = Annotated[
    str | None, typer.Option("--api-key", envvar="OPENAI_API_KEY", help="API key of that server.", show_default=False)
]
ModelOpt = Annotated[
    str | None, typer.Option("--model", help="Model name on that server (default: the first it lists).")
]
SystemOpt = Annotated[str | None, typer.Option("--system", help="System prompt to start with.")]


def open_engine(
    config_file: str | None,
    overrides: list[str] | None,
    openai_base_url: str | None = None,
    api_key: str | None = None,
    model: str | None = None,
) -> "ChatEngine":
    """Load the config (a file, or a run folder's result) and start its engine; user errors exit 2 with a message."""
    from lmf_engine.chat import ChatError, create_engine
    from lmf_engine.config import load_config
    from lmf_engine.runs.inference import RunConfigError, inference_values

    overrides = list(overrides or [])
    if config_file is not None and "=" in config_file and not Path(config_file).exists():
        overrides.insert(0, config_file)  # `chat --openai-base-url URL temperature=0.2`: no config file
        config_file = None
    if config_file is None and not openai_base_url:
        fail("give a CONFIG file, or --openai-base-url to chat with a server")
    run_values = None
    if config_file is not None and Path(config_file).is_dir():
        try:
            run_values = inference_values(Path(config_file))
        except RunConfigError as exc:
            fail(str(exc))
    elif config_file is not None and not Path(config_file).is_file():
        fail(f"config file {config_file!r} does not exist")
    with user_errors(config_file):
        if run_values is not None:
            config = load_config(overrides=overrides, values=run_values)
        else:
            config = load_config(config_file, overrides)
        try:
            return create_engine(config, openai_base_url=openai_base_url, api_key=api_key, model=model)
        except ChatError as exc:
            fail(str(exc))


def chat(
    config: ConfigArg = None,
    overrides: OverridesArg = None,
    openai_base_url: BaseUrlOpt = None,
    api_key: ApiKeyOpt = None,
    model: ModelOpt = None,
    system: SystemOpt = None,
) -> None:
    """Chat in the terminal: /help lists the commands, Ctrl-C stops an answer, Ctrl-D leaves.

    The back end is the config's infer_backend (huggingface, vllm or sglang), or any OpenAI-compatible server with
    --openai-base-url. Generation keys (temperature, top_p, max_new_tokens, ...) come from the config and /set.
    Library warnings go to $LMF_CACHE_HOME/logs/chat.log (~/.cache/lmf-workbench/logs), not into the conversation.
    """
    from lmf_engine.chat.repl import ChatRepl
    from lmf_engine.chat.sync import SyncEngine
    from lmf_engine.data.pipeline import cache_root
    from lmf_engine.util.library_log import quiet_transformers, route_library_logs

    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (line editing and history for input())
    route_library_logs(cache_root() / "logs" / "chat.log")
    engine = SyncEngine(open_engine(config, overrides, openai_base_url, api_key, model))
    quiet_transformers()
    try:
        ChatRepl(engine, system=system).run()
    finally:
        engine.close()
