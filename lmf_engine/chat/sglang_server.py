"""The SGLang server behind ``infer_backend: sglang``: its command line, its start on loopback and its stop.

The server is ``python -m sglang.launch_server`` in a child process of its own session, listening on a free port of
127.0.0.1, with LLaMA-Factory 0.9.5's settings (``sglang_maxlen``, ``sglang_mem_fraction``, ``sglang_tp_size``,
``infer_dtype``, ``cache_dir``; one adapter served as the LoRA ``lora0`` with ``sglang_lora_backend``) plus the
template's chat template and ``sglang_config`` as further ``--option value`` pairs. Its output goes to a log file
whose last line explains a server that dies before it is ready.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from lmf_engine.util.packages import installed

from .errors import BackendUnavailable, ChatError

if TYPE_CHECKING:
    from lmf_engine.config import Config

SERVER_MODULE = "sglang.launch_server"
HOST = "127.0.0.1"
LORA_NAME = "lora0"
READY_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 30.0
MISSING = (
    "infer_backend: sglang needs the sglang package, which is not installed here; on a GPU machine run "
    "`pip install 'lmf-workbench[sglang]'`, or set infer_backend: huggingface"
)


def require_sglang() -> None:
    """:class:`BackendUnavailable` with what to do when the ``sglang`` package is not installed."""
    if not installed("sglang"):
        raise BackendUnavailable(MISSING)


def served_name(config: "Config") -> str:
    """The model name the server answers to: the model folder's name (or the hub id)."""
    return Path(str(config.get("model_name_or_path"))).name


def extra_options(config: "Config") -> list[str]:
    """``sglang_config`` (a mapping or JSON) as command-line options: ``{"chunked_prefill_size": 4096}`` ->
    ``--chunked-prefill-size 4096``; true adds a bare flag, false and null leave the option out."""
    value = config.get("sglang_config")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ChatError(f"sglang_config: not valid JSON ({exc})") from None
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise ChatError("sglang_config: must be a mapping of SGLang server options")
    args: list[str] = []
    for key, option in value.items():
        flag = "--" + str(key).removeprefix("--").replace("_", "-")
        if option is True:
            args.append(flag)
        elif isinstance(option, list | tuple):
            args += [flag, *map(str, option)]
        elif option is not None and option is not False:
            args += [flag, str(option)]
    return args


def server_command(
    config: "Config", port: int, device_count: int, chat_template: str | None = None, adapter: str | None = None
) -> list[str]:
    """The command that starts the config's SGLang server on ``port`` (see the module docstring)."""
    tp_size = config.get("sglang_tp_size")
    command = [
        sys.executable, "-m", SERVER_MODULE,
        "--model-path", str(config.get("model_name_or_path")),
        "--host", HOST,
        "--port", str(port),
        "--served-model-name", served_name(config),
        "--dtype", config.get("infer_dtype"),
        "--context-length", str(config.get("sglang_maxlen")),
        "--mem-fraction-static", str(config.get("sglang_mem_fraction")),
        "--tp-size", str(tp_size if tp_size != -1 else device_count or 1),
        "--log-level", "error",
    ]  # fmt: skip
    if chat_template is not None:
        command += ["--chat-template", chat_template]
    if config.get("cache_dir"):
        command += ["--download-dir", config.get("cache_dir")]
    if config.get("trust_remote_code"):
        command.append("--trust-remote-code")
    if config.get("model_revision") != "main":
        command += ["--revision", config.get("model_revision")]
    if adapter is not None:
        command += [
            "--enable-lora",
            "--lora-paths", f"{LORA_NAME}={adapter}",
            "--max-loras-per-batch", "1",
            "--lora-backend", config.get("sglang_lora_backend"),
            "--disable-radix-cache",
        ]  # fmt: skip
    return command + extra_options(config)


def _last_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return ""
    return next((line for line in reversed(lines) if line), "")


class SGLangServer:
    """A running SGLang server child process (see the module docstring)."""

    def __init__(self, command: list[str], port: int, log_path: Path) -> None:
        self.command = command
        self.port = port
        self.log_path = log_path
        self.base_url = f"http://{HOST}:{port}"
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        """Return once the server lists its models; :class:`ChatError` when it exits or does not answer in time."""
        import httpx

        deadline = time.monotonic() + timeout
        while True:
            code = self.process.poll()
            if code is not None:
                last = _last_line(self.log_path)
                raise ChatError(
                    f"the SGLang server exited (code {code}) before it was ready"
                    + (f": {last}" if last else "")
                    + f" (its log: {self.log_path})"
                )
            try:
                if httpx.get(f"{self.base_url}/v1/models", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise ChatError(f"the SGLang server did not answer within {timeout:.0f} s (its log: {self.log_path})")
            time.sleep(0.25)

    def stop(self) -> None:
        """End the server and everything it started (its process group): SIGTERM, then SIGKILL."""
        if self.process.poll() is not None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.process.wait()

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        except AttributeError:  # no process groups (Windows)
            self.process.send_signal(sig)

    @property
    def running(self) -> bool:
        return self.process.poll() is None


def device_count() -> int:
    """Visible CUDA GPUs (the default tensor-parallel size)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0
