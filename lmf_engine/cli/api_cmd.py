"""``lmf-engine api CONFIG [key=value ...]``: serve a model as an OpenAI-compatible HTTP API."""

from typing import Annotated

import typer

from .chat_cmd import open_engine
from .output import OverridesArg, fail

ConfigArg = Annotated[
    str,
    typer.Argument(
        help="YAML or JSON config (model_name_or_path, adapter_name_or_path, template, infer_backend, generation "
        "keys; stage: rm serves reward scores).",
        show_default=False,
    ),
]
HostOpt = Annotated[
    str | None,
    typer.Option("--host", help="Address to bind (default: $API_HOST, else 127.0.0.1).", show_default=False),
]
PortOpt = Annotated[int | None, typer.Option("--port", help="Port (default: $API_PORT, else 8000).", min=1, max=65535)]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key", envvar="API_KEY", help="Require this key (Bearer) on every request.", show_default=False
    ),
]
ModelNameOpt = Annotated[
    str | None,
    typer.Option(
        "--model-name", envvar="API_MODEL_NAME", help="Model id /v1/models lists (default: the folder name)."
    ),
]
CorsOpt = Annotated[
    list[str] | None, typer.Option("--cors-origin", help="Allow browser pages from this origin (repeatable).")
]
LogLevelOpt = Annotated[str, typer.Option("--log-level", help="uvicorn log level.")]
MaxBodyOpt = Annotated[
    float | None,
    typer.Option(
        "--max-body-mb",
        envvar="API_MAX_BODY_MB",
        help="Refuse request bodies over this many megabytes with 413 (default 32).",
        min=0.001,
        show_default=False,
    ),
]


LocalMediaOpt = Annotated[
    bool,
    typer.Option(
        "--allow-local-media",
        envvar="API_ALLOW_LOCAL_MEDIA",
        help="Accept image_url parts that are paths on this machine (else only data: URLs).",
    ),
]


def api(
    config: ConfigArg,
    overrides: OverridesArg = None,
    host: HostOpt = None,
    port: PortOpt = None,
    api_key: ApiKeyOpt = None,
    model_name: ModelNameOpt = None,
    cors_origin: CorsOpt = None,
    log_level: LogLevelOpt = "info",
    max_body_mb: MaxBodyOpt = None,
    allow_local_media: LocalMediaOpt = False,
) -> None:
    """Serve GET /v1/models, POST /v1/chat/completions (streaming, tools, usage) and POST /v1/score/evaluation.

    Binds 127.0.0.1 unless --host (or API_HOST) says otherwise; with --api-key (or API_KEY) every request needs
    `Authorization: Bearer KEY`. Requests are answered one generation at a time, in order.
    """
    from lmf_engine.api.app import create_app
    from lmf_engine.api.server import default_host, default_port, make_server

    try:
        bind_host, bind_port = host or default_host(), port or default_port()
    except ValueError:
        fail("API_PORT must be a port number")
    engine = open_engine(config, overrides)
    max_body = int(max_body_mb * 2**20) if max_body_mb else None
    app = create_app(
        engine,
        api_key=api_key,
        model_name=model_name,
        cors_origins=cors_origin or (),
        max_body_bytes=max_body,
        allow_local_media=allow_local_media,
    )
    if bind_host not in ("127.0.0.1", "localhost", "::1") and not api_key:
        typer.echo(f"warning: serving on {bind_host} without an API key; anyone who can reach it can use it", err=True)
    typer.echo(f"serving {engine.model_name} ({engine.name}) on http://{bind_host}:{bind_port}/v1", err=True)
    make_server(app, bind_host, bind_port, log_level).run()
