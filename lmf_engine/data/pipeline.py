"""A config's whole data pipeline: tokenizer and template, loading, splitting, encoding, and the tokenized cache.

What the trainers and ``lmf-engine data encode`` call. The result equals LLaMA-Factory 0.9.5's ``get_dataset``:
same rows, same order, same columns. Encoded data is cached on disk under a key made of everything that changes
it (the config's data keys, the tokenizer's files, the template, the dataset files' sizes and times, the encoder
code), so a second run with the same inputs skips loading and tokenizing. ``tokenized_path`` works as in
LLaMA-Factory (load when it exists, otherwise save there); ``overwrite_cache`` encodes again.
"""

import glob
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmf_engine import __version__
from lmf_engine.model.tokenizer import load_tokenizer
from lmf_engine.util.environ import keeps_os_environ
from lmf_engine.util.fs import discard_folder

from .errors import DataError
from .loading import OnBadRow, load_data, worker_count
from .processors import EncodeOptions, Stage, make_preprocess_fn
from .processors.runner import can_fork, encode_dataset, single_threaded_tokenizers
from .registry import get_dataset_specs, split_names
from .rows import BadRowReport
from .shards import column_features
from .templates import Template, get_template_and_fix_tokenizer

if TYPE_CHECKING:
    from datasets import Dataset, DatasetDict, IterableDataset

    from lmf_engine.config import Config

    from .multimodal import MediaEncoder

log = logging.getLogger(__name__)

CACHE_ENV = "LMF_CACHE_HOME"
FINGERPRINT_FILE = "lmf_fingerprint.json"
BAD_ROWS_FILE = "lmf_bad_rows.json"
NOT_IN_KEY = {
    "preprocessing_num_workers",
    "overwrite_cache",
    "tokenized_path",
    "data_shared_file_system",
    "lazy_preprocessing",
}
"""Data keys that do not change the encoded rows (left out of the cache key)."""
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
    "chat_template.jinja",
    "chat_template.json",
)
CODE_DIRS = ("processors", "templates", "multimodal")
PROBE_ROWS = 8


@dataclass
class PreparedData:
    """Encoded training and evaluation data, with the template and tokenizer that made it.

    ``eval`` is a dict of name -> dataset with ``eval_on_each_dataset``. ``cache`` is the folder the data was read
    from or saved to (None when streaming), ``from_cache`` whether encoding was skipped.
    """

    train: "Dataset | IterableDataset | None"
    eval: "Dataset | IterableDataset | dict[str, Dataset | IterableDataset] | None"
    template: Template
    tokenizer: Any
    stage: Stage
    bad_rows: BadRowReport = field(default_factory=BadRowReport)
    cache: Path | None = None
    from_cache: bool = False
    lazy: Any = None
    """:class:`~.lazy.LazyData` when ``train``/``eval`` are lazy datasets."""


def encoder_stage(stage: str) -> Stage:
    """The encoder a training stage uses: dpo data is encoded as rm's pairs."""
    return "rm" if stage == "dpo" else stage  # type: ignore[return-value]


def encode_options(config: "Config", template: Template | None = None) -> EncodeOptions:
    """The encoder options of a config's data group; with a multimodal ``template``, also its media encoder (the
    plugin and the model's processor)."""
    data = config.data
    return EncodeOptions(
        cutoff_len=data.cutoff_len,
        train_on_prompt=data.train_on_prompt,
        mask_history=data.mask_history,
        packing=data.packing,
        neat_packing=data.neat_packing,
        media=media_encoder(config, template) if template is not None and template.multimodal else None,
    )


def media_encoder(config: "Config", template: Template) -> "MediaEncoder":
    """The template's plugin with the processor of the config's model."""
    from .multimodal import MediaEncoder, MediaOptions, get_plugin, load_media_processor

    options = MediaOptions.from_config(config)
    path = config.model.model_name_or_path or ""
    processor = load_media_processor(path, options, config.model.trust_remote_code)
    return MediaEncoder(get_plugin(template.multimodal, template.media_tokens), processor, template.name)


def check_media_support(config: "Config", template: Template) -> None:
    """Datasets with media need a template whose plugin lmf expands for those media: else a clear error now."""
    from .multimodal import PLUGINS

    for name in (*split_names(config.data.dataset), *split_names(config.data.eval_dataset)):
        spec = get_dataset_specs(name, config.data.dataset_dir)[0]
        if not spec.media_columns:
            continue
        kinds = ", ".join(spec.media_columns)
        if template.multimodal is None:
            raise DataError(
                f"dataset {name} has {kinds}, and template {template.name} takes text only: use the template of "
                "the multimodal model (e.g. qwen2_vl, llava)",
                dataset=name,
            )
        factory = PLUGINS.get(template.multimodal)
        if factory is None or not set(spec.media_columns) <= set(factory.kinds):  # type: ignore[attr-defined]
            covered = ", ".join(f"{p} ({', '.join(f.kinds)})" for p, f in PLUGINS.items())  # type: ignore[attr-defined]
            raise DataError(
                f"dataset {name} has {kinds}: template {template.name}'s plugin {template.multimodal} with those "
                f"media is not supported in lmf workbench yet (covered: {covered})",
                dataset=name,
            )


def template_for(config: "Config", tokenizer: Any) -> Template:
    """The config's template with its overrides; fixes ``tokenizer`` (eos, pad, stop words) in place."""
    data = config.data
    return get_template_and_fix_tokenizer(
        tokenizer,
        data.template,
        tool_format=data.tool_format,
        default_system=data.default_system,
        enable_thinking=data.enable_thinking,
        preserve_thinking=config.get("preserve_thinking") or False,
        train_on_prompt=data.train_on_prompt,
    )


def cache_root() -> Path:
    """Where encoded data is cached: ``$LMF_CACHE_HOME`` or ``$XDG_CACHE_HOME/lmf-workbench`` (``~/.cache``)."""
    if explicit := os.environ.get(CACHE_ENV):
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lmf-workbench"


def _file_stats(path: Path) -> list[tuple[str, int, int]]:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files if p.exists()]


def _hash_files(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def fingerprint(config: "Config", stage: Stage, template: Template, do_generate: bool = False) -> dict[str, Any]:
    """Everything that changes the encoded rows, as a JSON-able dict; its hash is the cache key."""
    data = {k: v for k, v in config.to_flat().items() if k in _data_keys() and k not in NOT_IN_KEY}
    model_path = Path(config.get("model_name_or_path") or "")
    files: list[Any] = []
    for name in (*split_names(config.data.dataset), *split_names(config.data.eval_dataset)):
        spec = get_dataset_specs(name, config.data.dataset_dir)[0]
        source = Path(config.data.dataset_dir) / spec.path
        files.append([name, repr(spec), _file_stats(source) if source.exists() else None])
    code_dir = Path(__file__).parent
    code = _hash_files(sorted(p for d in CODE_DIRS for p in (code_dir / d).rglob("*") if p.suffix in {".py", ".toml"}))
    return {
        "version": __version__,
        "stage": stage,
        "do_generate": do_generate,
        "seed": config.training.seed,
        "predict_with_generate": config.get("predict_with_generate"),
        "data": data,
        "model": {
            k: config.get(k)
            for k in (
                "add_tokens",
                "add_special_tokens",
                "split_special_tokens",
                "use_fast_tokenizer",
                "model_revision",
            )
        },
        "tokenizer": _hash_files([model_path / name for name in TOKENIZER_FILES])
        if model_path.is_dir()
        else str(model_path),
        "template": repr(template),
        "media": _media_print(config, model_path) if template.multimodal else None,
        "datasets": files,
        "code": code,
    }


def _media_print(config: "Config", model_path: Path) -> dict[str, Any]:
    """What changes media token counts: the media keys and the model's processor files."""
    from lmf_engine.model.processor_files import PROCESSOR_FILES

    from .multimodal.processor import MediaOptions

    options = asdict(MediaOptions.from_config(config))
    return {"options": options, "processor": _hash_files([model_path / name for name in PROCESSOR_FILES])}


def _data_keys() -> set[str]:
    from lmf_engine.config.groups import field_index

    return {name for name, info in field_index().items() if info.group == "data"}


def _key(print_: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(print_, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _as_dict(prepared_train: Any, prepared_eval: Any) -> "DatasetDict":
    from datasets import DatasetDict

    parts: dict[str, Any] = {}
    if prepared_train is not None:
        parts["train"] = prepared_train
    if isinstance(prepared_eval, dict):
        parts.update({f"validation_{name}": ds for name, ds in prepared_eval.items()})
    elif prepared_eval is not None:
        parts["validation"] = prepared_eval
    return DatasetDict(parts)


def _from_dict(parts: "DatasetDict") -> tuple[Any, Any]:
    evals: Any = {key.removeprefix("validation_"): ds for key, ds in parts.items() if key.startswith("validation_")}
    if "validation" in parts:
        evals = parts["validation"]
    return parts.get("train"), evals or None


def _save(parts: "DatasetDict", target: Path, print_: dict[str, Any] | None, bad_rows: BadRowReport) -> None:
    """Save next to ``target`` and rename into place, so a half-written cache is never read (and an old one being
    read stays readable)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        parts.save_to_disk(str(tmp / "data"))
        if print_ is not None:
            (tmp / "data" / FINGERPRINT_FILE).write_text(json.dumps(print_, indent=1, default=str), encoding="utf-8")
        (tmp / "data" / BAD_ROWS_FILE).write_text(json.dumps(asdict(bad_rows)), encoding="utf-8")
        discard_folder(target)
        (tmp / "data").rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _load(path: Path) -> tuple[Any, Any, BadRowReport]:
    from datasets import load_from_disk

    train, evals = _from_dict(load_from_disk(str(path)))
    report = BadRowReport()
    if (path / BAD_ROWS_FILE).exists():
        report = BadRowReport.from_dict(json.loads((path / BAD_ROWS_FILE).read_text(encoding="utf-8")))
    return train, evals, report


def _probe_features(dataset: Any, fn: Any) -> Any:
    """The Features of ``fn``'s output, from a few rows, so ``datasets`` skips inferring types token by token.

    None when a column holds something other than ids, masks and flags (neat packing's ``packing_params``).
    """
    return column_features(fn(dataset[: min(PROBE_ROWS, len(dataset))]))


Report = Callable[[str], None]


def _encode_split(dataset: Any, fn: Any, config: "Config", what: str, keep: Path | None, report: Report) -> Any:
    """Encode one split with the runner (this process, or ``preprocessing_num_workers`` forked ones of one thread
    each); ``datasets.map`` encodes streams, neat packing's nested column and where workers cannot fork.

    ``keep``: a folder for resumable chunk files (an encode killed half-way goes on where it was)."""
    if dataset is None:
        return None
    batch_size = config.data.preprocessing_batch_size
    columns = list(dataset.column_names or next(iter(dataset)).keys())
    if is_streaming(dataset):
        return dataset.map(fn, batched=True, batch_size=batch_size, remove_columns=columns)
    features = _probe_features(dataset, fn) if len(dataset) else None
    num_proc = worker_count(config)
    workers = num_proc or 1
    desc = f"Encoding {what} data"
    if features is not None and (workers == 1 or can_fork()):
        if keep is not None:
            keep = keep.with_name(f"{keep.name}-{what.replace(' ', '_')}-w{workers}-b{batch_size}")

        def on_plan(chunks: int, done: int) -> None:
            earlier = f" ({done} done by an earlier run)" if done else ""
            report(f"encoding {what} data: {chunks - done} of {chunks} shards to encode{earlier}")

        return encode_dataset(
            dataset, fn, features, workers=workers, batch_size=batch_size, desc=desc, keep=keep, on_plan=on_plan
        )
    with single_threaded_tokenizers() if workers > 1 else nullcontext():
        return dataset.map(
            fn,
            batched=True,
            batch_size=batch_size,
            remove_columns=columns,
            num_proc=num_proc,
            load_from_cache_file=False,
            desc=desc,
            features=features,
        )


def _remove_chunks(keep: Path) -> None:
    """Remove the resumable chunk folders of every split encoded under ``keep``."""
    for folder in keep.parent.glob(f"{glob.escape(keep.name)}-*"):
        shutil.rmtree(folder, ignore_errors=True)


def _check_not_empty(train: Any, stage: Stage) -> None:
    if train is None or is_streaming(train):
        return
    if len(train) == 0:
        if stage == "pt":
            raise DataError("no training sample is left after encoding: the text is shorter than cutoff_len allows")
        raise DataError("no usable training sample is left after encoding; check the dataset's format and columns")


def is_streaming(dataset: Any) -> bool:
    """Whether ``dataset`` is a streaming (iterable) dataset."""
    return not hasattr(dataset, "__len__")


@keeps_os_environ
def prepare_data(
    config: "Config",
    *,
    tokenizer: Any = None,
    stage: str | None = None,
    on_bad_row: OnBadRow | None = None,
    do_generate: bool = False,
    use_cache: bool = True,
    report: Report | None = None,
) -> PreparedData:
    """Run the config's data pipeline and return encoded data (from the cache when its inputs are unchanged).

    ``stage`` defaults to ``config.finetuning.stage``; ``on_bad_row`` to the config's ``on_bad_row``. ``report``
    is told how many shards each split has to encode (fewer when an earlier, killed run encoded some).
    """
    report = report or log.info
    stage = stage or config.finetuning.stage
    if tokenizer is None:
        tokenizer = load_tokenizer(config)
    template = template_for(config, tokenizer)
    check_media_support(config, template)
    enc_stage = encoder_stage(stage)
    data = config.data
    tokenized = Path(data.tokenized_path) if data.tokenized_path else None
    if tokenized is not None and (tokenized / "dataset_dict.json").exists() and not data.overwrite_cache:
        log.warning("Loading the tokenized dataset from %s; the other data keys are ignored.", tokenized)
        train, evals, report = _load(tokenized)
        if data.streaming and train is not None:
            train = train.to_iterable_dataset()
        return PreparedData(train, evals, template, tokenizer, enc_stage, report, tokenized, from_cache=True)
    if tokenized is not None and data.streaming:
        raise DataError("tokenized_path: turn off `streaming` to save a tokenized dataset to disk")

    print_ = None
    cached = None
    if use_cache and not data.streaming and tokenized is None:
        print_ = fingerprint(config, enc_stage, template, do_generate)
        cached = cache_root() / "tokenized" / _key(print_)
        if cached.exists() and not data.overwrite_cache:
            train, evals, report = _load(cached)
            return PreparedData(train, evals, template, tokenizer, enc_stage, report, cached, from_cache=True)

    target = tokenized or cached
    with _writer_lock(target):
        if target is not None and (target / "dataset_dict.json").exists() and not data.overwrite_cache:
            log.info("Another process encoded the same data meanwhile; loading it from %s", target)
            train, evals, report = _load(target)
            return PreparedData(train, evals, template, tokenizer, enc_stage, report, target, from_cache=True)
        loaded = load_data(config, stage, on_bad_row=on_bad_row or config.data.on_bad_row)
        options = encode_options(config, template)
        train_fn = make_preprocess_fn(enc_stage, template, tokenizer, options)
        eval_fn = make_preprocess_fn(enc_stage, template, tokenizer, options, do_generate=do_generate)
        keep = cache_root() / "encoding" / cached.name if cached is not None else None
        if keep is not None and data.overwrite_cache:
            _remove_chunks(keep)
        train = _encode_split(loaded.train, train_fn, config, "training", keep, report)
        if isinstance(loaded.eval, dict):
            evals: Any = {
                name: _encode_split(ds, eval_fn, config, f"{name} evaluation", keep, report)
                for name, ds in loaded.eval.items()
            }
        else:
            evals = _encode_split(loaded.eval, eval_fn, config, "evaluation", keep, report)
        _check_not_empty(train, enc_stage)
        if target is not None:
            _save(_as_dict(train, evals), target, print_, loaded.bad_rows)
            if tokenized is not None:
                log.info("Tokenized dataset saved at %s; later runs with `tokenized_path` load it.", tokenized)
        if keep is not None:  # the cache holds the rows now: read them from there and drop the resumable chunks
            train, evals, _ = _load(target)
            _remove_chunks(keep)
        return PreparedData(train, evals, template, tokenizer, enc_stage, loaded.bad_rows, cache=target)


@contextmanager
def _writer_lock(target: Path | None) -> Iterator[None]:
    """One process at a time encodes into a cache folder: runs started together (and the ranks of a Ray run, each
    its node's main process) wait for the first and then load what it saved."""
    if target is None:
        yield
        return
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(target.with_name(f".{target.name}.lock")))
    try:
        lock.acquire(timeout=0)
    except TimeoutError:
        log.info("Waiting for another process that encodes the same data into %s", target)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()
