"""Library warnings go to a log file, not to the terminal of an interactive screen."""

import logging
import warnings
from pathlib import Path

import pytest

from lmf_engine.util.library_log import LIBRARY_LOGGERS, route_library_logs


def test_library_warnings_reach_the_file_not_the_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "logs" / "chat.log"
    handler = route_library_logs(path)
    try:
        warnings.warn("`is_gradient_checkpointing` is deprecated", FutureWarning, stacklevel=1)
        logging.getLogger("transformers.generation").warning("Setting `pad_token_id` to `eos_token_id`")
        handler.flush()
        captured = capsys.readouterr()
        assert "is_gradient_checkpointing" not in captured.err + captured.out
        assert "pad_token_id" not in captured.err + captured.out
        text = path.read_text()
        assert "is_gradient_checkpointing" in text and "pad_token_id" in text
    finally:
        logging.captureWarnings(False)
        for name in LIBRARY_LOGGERS:
            logger = logging.getLogger(name)
            logger.removeHandler(handler)
            logger.propagate = True
        handler.close()
