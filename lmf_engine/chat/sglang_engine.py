"""The SGLang back end (``infer_backend: sglang``, extra ``sglang``, GPU machines).

As LLaMA-Factory 0.9.5 does, the engine starts SGLang's server as a child process (:mod:`.sglang_server`) and stops
it with the engine; requests go to the server's OpenAI-compatible API through :class:`.openai_engine.OpenAIEngine`.
The prompt is the config's template, given to the server as its jinja chat template, and every generation setting
of the config is sent with each request (LLaMA-Factory's sampling parameters), with the template's stop token ids.
An adapter (``adapter_name_or_path``, one LoRA adapter) is served as the server's LoRA ``lora0``.
"""

import logging
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmf_engine.util.net import free_port

from .errors import BackendUnavailable, ChatError
from .openai_engine import OpenAIEngine
from .settings import base_settings, generating_keys
from .sglang_server import (
    HOST,
    LORA_NAME,
    READY_TIMEOUT_S,
    SGLangServer,
    device_count,
    require_sglang,
    served_name,
    server_command,
)

if TYPE_CHECKING:
    from lmf_engine.config import Config

log = logging.getLogger(__name__)

CHAT_TEMPLATE_FILE = "chat_template.jinja"
SERVER_LOG_FILE = "server.log"


def sglang_adapter(config: "Config") -> str | None:
    """The one LoRA adapter to serve, or None; :class:`ChatError` for adapters SGLang cannot serve."""
    from lmf_engine.model.adapters import adapter_paths, adapter_type
    from lmf_engine.model.errors import ModelLoadError

    try:
        paths = adapter_paths(config)
    except ModelLoadError as exc:
        raise ChatError(str(exc)) from None
    if not paths:
        return None
    if len(paths) > 1:
        raise ChatError("adapter_name_or_path: SGLang serves one adapter; merge the others first (lmf-engine export)")
    kind = adapter_type(paths[0], config.get("adapter_folder"))
    if kind != "LORA":
        raise ChatError(
            f"adapter_name_or_path: SGLang serves LoRA adapters only, and {paths[0]!r} is {kind}; merge it into the "
            "model first (lmf-engine export) and serve the merged model"
        )
    return paths[0]


def _write_chat_template(config: "Config", folder: Path) -> tuple[str | None, Any, list[int]]:
    """The template's jinja chat template written to ``folder`` (None when it has no jinja form), the template
    and its stop token ids."""
    from lmf_engine.data.pipeline import template_for
    from lmf_engine.data.templates import stop_token_ids, to_jinja
    from lmf_engine.model.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(config)
    template = template_for(config, tokenizer)
    stop_ids = [i for i in stop_token_ids(template, tokenizer) if i is not None]
    try:
        text = to_jinja(template, tokenizer)
    except ValueError as exc:
        name = config.get("template")
        log.warning("template %s has no jinja form (%s); the server uses the model's own chat template.", name, exc)
        return None, template, stop_ids
    path = folder / CHAT_TEMPLATE_FILE
    path.write_text(text, encoding="utf-8")
    return str(path), template, stop_ids


def _stop(server: SGLangServer, folder: Path) -> None:
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


class SGLangEngine(OpenAIEngine):
    """The config's model served by an SGLang server this engine starts and stops (see the module docstring)."""

    name = "sglang"

    def __init__(self, config: "Config", ready_timeout: float = READY_TIMEOUT_S) -> None:
        require_sglang()
        if config.finetuning.stage == "rm":
            raise BackendUnavailable("infer_backend: sglang only generates; score a reward model with huggingface")
        adapter = sglang_adapter(config)
        folder = Path(tempfile.mkdtemp(prefix="lmf-sglang-"))
        try:
            chat_template, template, stop_ids = _write_chat_template(config, folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        port = free_port(HOST)
        command = server_command(config, port, device_count(), chat_template, adapter)
        log.info("Starting the SGLang server: %s", " ".join(command))
        self.server = SGLangServer(command, port, folder / SERVER_LOG_FILE)
        self._finalizer = weakref.finalize(self, _stop, self.server, folder)
        try:
            self.server.wait_ready(ready_timeout)
        except BaseException:
            self._finalizer.detach()
            self.server.stop()  # its log stays for the error message to point at
            raise
        extra: dict[str, object] = {"stop_token_ids": stop_ids}
        if adapter is not None:
            extra["lora_path"] = LORA_NAME
        super().__init__(
            self.server.base_url,
            base_settings(config),
            model=served_name(config),
            explicit=generating_keys(),
            extra_body=extra,
        )
        self.template = template

    async def aclose(self) -> None:
        """Stop the server (and delete its chat template and log)."""
        self._finalizer()
