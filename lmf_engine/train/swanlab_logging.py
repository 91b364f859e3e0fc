"""SwanLab logging: ``use_swanlab`` and the ``swanlab_*`` keys, or ``report_to: swanlab``, as LLaMA-Factory 0.9.5.

``use_swanlab`` adds a SwanLab callback made from the ``swanlab_*`` keys (project, workspace, experiment name, mode,
log folder; API key login and a Lark notification when given) that records the run's whole config and writes the
run's public SwanLab config to ``swanlab_public_config.json`` in the run folder; ``swanlab`` is then dropped from
``report_to`` so the run is not logged twice. ``report_to: swanlab`` alone uses transformers' own integration (set
up by ``SWANLAB_*`` environment variables). Either needs the ``swanlab`` package: :func:`check_swanlab` says so in
one line before anything loads.
"""

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmf_engine.util.packages import installed

if TYPE_CHECKING:
    from lmf_engine.config import Config

log = logging.getLogger(__name__)

PUBLIC_CONFIG_FILE = "swanlab_public_config.json"
TAG = "lmf-workbench"
PUBLIC_FIELDS = ("id", "name", "mode", "path", "url", "dir")
"""The SwanLab run's properties saved in ``swanlab_public_config.json``."""
SECRET_SUFFIXES = ("api_key", "token", "secret", "webhook_url")
"""Config keys whose values are masked in the config SwanLab records."""


class SwanLabMissing(ImportError):
    """SwanLab logging was asked for and the swanlab package is not installed."""


def report_to_list(config: "Config") -> list[str]:
    """``report_to`` as a list of logger names (a string may hold several, comma-separated)."""
    value = config.get("report_to")
    names = value.split(",") if isinstance(value, str) else list(value or [])
    return [name.strip() for name in names if name.strip()]


def check_swanlab(config: "Config") -> None:
    """Raise :class:`SwanLabMissing` when ``use_swanlab`` or ``report_to: swanlab`` is set without the package."""
    if installed("swanlab"):
        return
    for key, asked in (
        ("use_swanlab", config.get("use_swanlab")),
        ("report_to: swanlab", "swanlab" in report_to_list(config)),
    ):
        if asked:
            raise SwanLabMissing(f"{key} needs the swanlab package: pip install 'lmf-workbench[swanlab]'")


def integrations(config: "Config") -> list[str]:
    """The ``report_to`` transformers gets: without ``swanlab`` when ``use_swanlab`` adds its own callback."""
    names = report_to_list(config)
    return [name for name in names if name != "swanlab"] if config.get("use_swanlab") else names


def recorded_config(config: "Config") -> dict[str, Any]:
    """The whole config as SwanLab records it, secrets masked (``<SWANLAB_API_KEY>``) as LLaMA-Factory does."""
    return {
        key: f"<{key.upper()}>" if key.endswith(SECRET_SUFFIXES) and value is not None else value
        for key, value in config.to_flat().items()
    }


def _public(run: Any) -> dict[str, Any]:
    public: dict[str, Any] = {}
    for name in PUBLIC_FIELDS:
        try:
            public[name] = str(getattr(run, name))
        except Exception:  # a property a mode does not have (a cloud URL of a local run): left out
            continue
    return public


def swanlab_callback(config: "Config") -> Any:
    """The SwanLab callback of ``use_swanlab`` (logs in and registers the Lark notification first, when set)."""
    import swanlab
    from swanlab.integration.transformers import SwanLabCallback

    if config.get("swanlab_api_key") is not None:
        swanlab.login(api_key=config.get("swanlab_api_key"))
    if config.get("swanlab_lark_webhook_url") is not None:
        from swanlab.plugin.notification import LarkCallback

        lark = LarkCallback(
            webhook_url=config.get("swanlab_lark_webhook_url"), secret=config.get("swanlab_lark_secret")
        )
        swanlab.register_callbacks([lark])

    class RunSwanLabCallback(SwanLabCallback):
        """Records the whole config with the run and saves the run's public SwanLab config in the run folder."""

        def setup(self, args: Any, state: Any, model: Any = None, **kwargs: Any) -> None:
            starting = not self._trainer_initialized and state.is_world_process_zero
            super().setup(args, state, model)
            if not starting:
                return
            self.update_config({"lmf_config": recorded_config(config)})
            public = _public(swanlab.get_run())
            Path(args.output_dir, PUBLIC_CONFIG_FILE).write_text(json.dumps(public, indent=2), encoding="utf-8")

    return RunSwanLabCallback(
        project=config.get("swanlab_project"),
        workspace=config.get("swanlab_workspace"),
        experiment_name=config.get("swanlab_run_name"),
        mode=config.get("swanlab_mode"),
        log_dir=config.get("swanlab_logdir"),
        tags=[TAG],
    )
