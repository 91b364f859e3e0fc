"""What to load to use a run's result: its base model and adapter (LoRA, OFT), or the full model it saved.

``lmf-engine chat runs/NAME``, the workbench's chat screen and the inference config the workbench writes next to a
finished run all read a run this way. A run of ours has its resolved ``config.yaml``; a LLaMA-Factory output folder
has ``training_args.yaml`` (LLaMA Board writes it) or at least peft's ``adapter_config.json``.
"""

import json
from pathlib import Path
from typing import Any

import yaml

from .record import CONFIG_FILE, RUN_FILE, read_run

ADAPTER_TYPES = ("lora", "oft")
LF_ARGS_FILE = "training_args.yaml"
ADAPTER_CONFIG = "adapter_config.json"
INFERENCE_FILE = "inference.yaml"
CARRIED_KEYS = ("template", "trust_remote_code", "default_system", "enable_thinking", "quantization_bit")
"""Keys of the training config that inference needs as they were (the prompt format, how the base was loaded)."""


class RunConfigError(ValueError):
    """A run folder whose result cannot be loaded; the message names the folder and the file."""


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RunConfigError(f"{path}: cannot read it: {exc}") from None
    return loaded if isinstance(loaded, dict) else {}


def training_values(run_dir: Path) -> dict[str, Any]:
    """The config a run trained with: ``config.yaml`` (ours), ``training_args.yaml`` or ``adapter_config.json``."""
    for name in (CONFIG_FILE, LF_ARGS_FILE):
        if (run_dir / name).is_file():
            return _read_mapping(run_dir / name)
    if (run_dir / ADAPTER_CONFIG).is_file():
        try:
            adapter = json.loads((run_dir / ADAPTER_CONFIG).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RunConfigError(f"{run_dir / ADAPTER_CONFIG}: cannot read it: {exc}") from None
        base = adapter.get("base_model_name_or_path") if isinstance(adapter, dict) else None
        return {"model_name_or_path": base, "finetuning_type": "lora"}
    raise RunConfigError(f"{run_dir} has no {CONFIG_FILE}, {LF_ARGS_FILE} or {ADAPTER_CONFIG}: not a trained run")


def _run_root(run_dir: Path) -> Path | None:
    """The folder the run was started in (relative paths of its config are relative to it)."""
    if not (run_dir / RUN_FILE).is_file():
        return None
    try:
        cwd = read_run(run_dir).cwd
    except (OSError, ValueError):
        return None
    return Path(cwd) if cwd else None


def _resolved(value: Any, root: Path | None) -> Any:
    if not isinstance(value, str) or not value or root is None or Path(value).is_absolute():
        return value
    candidate = root / value
    return str(candidate) if candidate.exists() else value


def inference_values(run_dir: Path, base_only: bool = False) -> dict[str, Any]:
    """The keys to chat with, serve or export a run's result: base model and adapter, or the full model it saved.

    ``base_only`` gives the run's base model without its adapter (to compare base and fine-tune). A run that did not
    train (a prediction) gives the model and adapter it used. A relative model path is resolved against the folder
    the run was started in. Raises :class:`RunConfigError`.
    """
    run_dir = Path(run_dir)
    config = training_values(run_dir)
    base = _resolved(config.get("model_name_or_path"), _run_root(run_dir))
    if not base:
        raise RunConfigError(f"{run_dir}: its config names no model_name_or_path")
    finetuning = config.get("finetuning_type", "lora")
    values: dict[str, Any] = {}
    adapter = _resolved(config.get("adapter_name_or_path"), _run_root(run_dir))
    if config.get("do_train") is False:  # a prediction run: its result is the model it answered with
        values["model_name_or_path"] = base
        if adapter and not base_only:
            values.update(adapter_name_or_path=adapter, finetuning_type=finetuning)
    elif base_only:
        values["model_name_or_path"] = base
    elif finetuning in ADAPTER_TYPES:
        values.update(model_name_or_path=base, adapter_name_or_path=str(run_dir), finetuning_type=finetuning)
    else:
        values["model_name_or_path"] = str(run_dir)
    values.update({key: config[key] for key in CARRIED_KEYS if config.get(key) is not None})
    if config.get("stage") == "rm" and not base_only:
        values["stage"] = "rm"
    return values


PREDICT_DATA_KEYS = ("dataset", "eval_dataset", "dataset_dir", "val_size", "cutoff_len", "max_samples", "seed")
"""Keys of the training config that pick the rows a prediction answers (the run's own validation rows)."""


def prediction_values(run_dir: Path, output_dir: str) -> dict[str, Any]:
    """A config that answers every evaluation row of a run's data with its result (``do_predict`` with
    ``predict_with_generate``), into ``output_dir``. Raises :class:`RunConfigError` when the run has no evaluation
    rows (neither ``eval_dataset`` nor ``val_size``)."""
    config = training_values(Path(run_dir))
    if not config.get("eval_dataset") and not config.get("val_size"):
        raise RunConfigError(f"{run_dir}: its config has no eval_dataset or val_size: no rows to predict")
    values = inference_values(Path(run_dir))
    values.update({key: config[key] for key in PREDICT_DATA_KEYS if config.get(key) is not None})
    values.update(stage="sft", do_train=False, do_predict=True, predict_with_generate=True, output_dir=output_dir)
    values.update(overwrite_output_dir=True, report_to="none")
    return values


def write_inference_config(run_dir: Path, name: str) -> Path:
    """Write ``<run>/inference.yaml`` (the run's :func:`inference_values` and an export folder) and return it."""
    from lmf_engine.util.fs import atomic_write_text

    values = inference_values(run_dir)
    values["export_dir"] = str(run_dir.parent / f"{run_dir.name}-merged")
    path = run_dir / INFERENCE_FILE
    header = f"# Chat with, serve or export run {name} (written by lmf workbench)\n"
    atomic_write_text(path, header + yaml.safe_dump(values, sort_keys=False))
    return path
