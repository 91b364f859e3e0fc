"""Library warnings and log lines (transformers, peft, torch, Python's ``warnings``) sent to a log file, so that an
interactive screen (the chat REPL) shows only the conversation."""

import logging
import sys
from pathlib import Path

LIBRARY_LOGGERS = ("py.warnings", "transformers", "peft", "accelerate", "torch", "datasets", "vllm", "httpx")


def route_library_logs(path: Path) -> logging.Handler:
    """Send library warnings and log records to ``path`` (appended) instead of the terminal; return the handler.

    Python warnings are captured into logging; the libraries' loggers stop propagating to the root logger (whose
    last-resort handler prints to stderr). transformers' own stderr handler, once it is imported, goes too: call
    :func:`quiet_transformers` after loading a model.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    logging.captureWarnings(True)
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.propagate = False
    quiet_transformers()
    return handler


def quiet_transformers() -> None:
    """Drop transformers' default stderr handler when transformers is loaded (its records still reach the file)."""
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_default_handler()
