"""Read a dataset's raw rows: local files and folders, saved ``datasets`` folders, or the Hugging Face hub.

Local files load through ``datasets.load_dataset`` with the builder LLaMA-Factory picks from the extension, so
rows, types and order are the same as there. ``datasets`` is imported only inside the functions that need it.
Files are only read, never written: the parsed cache goes to ``cache_dir`` (or the ``datasets`` default).
"""

import json
import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from .errors import TOO_DEEP, DataError
from .registry import DatasetSpec

if TYPE_CHECKING:
    from datasets import Dataset, IterableDataset

FILE_TYPES = {"arrow": "arrow", "csv": "csv", "json": "json", "jsonl": "json", "parquet": "parquet", "txt": "text"}
SAVED_MARKERS = ("state.json", "dataset_dict.json")  # written by Dataset/DatasetDict.save_to_disk
TRUE_VALUES = {"1", "ON", "YES", "TRUE"}


@dataclass(frozen=True, slots=True)
class LocalSource:
    """Where a ``file_name`` entry points: a ``datasets`` builder and its files, or a save_to_disk folder."""

    kind: Literal["files", "saved"]
    path: str
    builder: str | None = None
    files: tuple[str, ...] = ()


def _extension(path: str) -> str:
    return os.path.splitext(path)[-1][1:]


def resolve_local(spec: DatasetSpec, dataset_dir: str) -> LocalSource:
    """The files of a ``file_name`` entry: one file, or every file of a folder (all of one type), in listing order."""
    path = os.path.join(dataset_dir, spec.path)
    if os.path.isdir(path):
        names = os.listdir(path)
        if any(marker in names for marker in SAVED_MARKERS):
            return LocalSource("saved", path)
        files = [os.path.join(path, n) for n in names if not n.startswith(".")]  # LLaMA-Factory's os.listdir order
        if not files:
            raise DataError(f"dataset {spec.name}: folder {path} has no data files", dataset=spec.name, file=path)
        for file in files:
            if os.path.isdir(file):
                raise DataError(
                    f"dataset {spec.name}: folder {path} holds a subfolder ({os.path.basename(file)}); "
                    "a dataset folder must hold data files of one type only",
                    dataset=spec.name,
                    file=path,
                )
    elif os.path.isfile(path):
        files = [path]
    else:
        where = f"{spec.info_file}, entry {spec.name!r}" if spec.info_file else f"dataset {spec.name}"
        raise DataError(f"{where}: file_name {spec.path!r}: {path} does not exist", dataset=spec.name, file=path)
    builder = FILE_TYPES.get(_extension(files[0]))
    if builder is None:
        allowed = ", ".join(FILE_TYPES)
        raise DataError(
            f"dataset {spec.name}: cannot read {files[0]}: allowed file types are {allowed}",
            dataset=spec.name,
            file=files[0],
        )
    others = [f for f in files if FILE_TYPES.get(_extension(f)) != builder]
    if others:
        raise DataError(
            f"dataset {spec.name}: folder {path} mixes file types ({os.path.basename(files[0])} and "
            f"{os.path.basename(others[0])}); all files of a dataset folder must be of one type",
            dataset=spec.name,
            file=path,
        )
    return LocalSource("files", path, builder, tuple(files))


def locate_json_error(path: str) -> tuple[int, int, str] | None:
    """(line, column, message) of the first JSON syntax error of a JSON array or JSON Lines file, or None."""
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return line, exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1, "not UTF-8 text"
    if text.lstrip().startswith("["):
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            return exc.lineno, exc.colno, exc.msg
        except RecursionError:
            return 1, 1, TOO_DEEP
        return None
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                json.loads(line)
            except json.JSONDecodeError as exc:
                return number, exc.colno, exc.msg
            except RecursionError:
                return number, 1, TOO_DEEP
    return None


def _root_cause(exc: BaseException) -> BaseException:
    seen = {id(exc)}
    while (nxt := exc.__cause__ or exc.__context__) is not None and id(nxt) not in seen:
        seen.add(id(nxt))
        exc = nxt
    return exc


def _file_error(spec: DatasetSpec, source: LocalSource, exc: Exception) -> DataError:
    if source.builder == "json":
        for file in source.files:
            found = locate_json_error(file)
            if found:
                line, column, message = found
                text = f"dataset {spec.name}: {file}: line {line}, column {column}: {message}"
                return DataError(text, dataset=spec.name, file=file)
    cause = _root_cause(exc)
    empty = all(os.path.getsize(f) == 0 for f in source.files)
    if empty or "corresponds to no data" in str(cause):  # datasets' message for files without rows
        return DataError(f"dataset {spec.name} ({source.path}) has no rows", dataset=spec.name, file=source.path)
    text = f"dataset {spec.name}: cannot read {source.path}: {str(cause) or type(cause).__name__}"
    return DataError(text, dataset=spec.name, file=source.path)


def _read_local(spec: DatasetSpec, dataset_dir: str, streaming: bool, num_shards: int, **kwargs: Any) -> Any:
    source = resolve_local(spec, dataset_dir)
    try:
        if source.kind == "saved":
            from datasets import DatasetDict, load_from_disk

            dataset = load_from_disk(source.path)
            if isinstance(dataset, DatasetDict):
                if spec.split not in dataset:
                    splits = ", ".join(dataset)
                    raise DataError(
                        f"dataset {spec.name}: {source.path} has no split {spec.split!r} (it has {splits})",
                        dataset=spec.name,
                        file=source.path,
                    )
                dataset = dataset[spec.split]
        else:
            from datasets import load_dataset

            dataset = load_dataset(source.builder, data_files=list(source.files), split=spec.split, **kwargs)
    except DataError:
        raise
    except Exception as exc:
        raise _file_error(spec, source, exc) from None
    return dataset.to_iterable_dataset(num_shards=num_shards) if streaming else dataset


def hub_offline() -> bool:
    """True when the environment says not to use the network (HF_HUB_OFFLINE, HF_DATASETS_OFFLINE)."""
    return any(os.environ.get(k, "").upper() in TRUE_VALUES for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def hub_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP probe of the hub endpoint; True when a proxy is configured (it cannot be probed directly)."""
    if any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = url.port or (80 if url.scheme == "http" else 443)
    try:
        with socket.create_connection((url.hostname or "huggingface.co", port), timeout=timeout):
            return True
    except OSError:
        return False


def offline_error(spec_name: str, repo: str) -> DataError:
    """The one message for every way of not reaching the hub."""
    return DataError(
        f"offline: cannot reach the hub for dataset {spec_name} ({repo}); "
        "download it and point file_name at the local copy",
        dataset=spec_name,
    )


def _is_connection_error(exc: BaseException) -> bool:
    names = ("Connect", "Timeout", "Offline", "LocalEntryNotFound", "NameResolution")
    chain = [exc, _root_cause(exc), exc.__cause__]
    return any(
        isinstance(e, ConnectionError | TimeoutError) or any(n in type(e).__name__ for n in names) for e in chain
    )


def _check_hub_access(spec_name: str, repo: str) -> None:
    if hub_offline():
        import datasets

        if not datasets.config.HF_HUB_OFFLINE:  # set after import: ``datasets`` would still try the network
            raise offline_error(spec_name, repo)
    elif not hub_reachable():
        raise offline_error(spec_name, repo)


def _read_hub(spec: DatasetSpec, dataset_dir: str, streaming: bool, **kwargs: Any) -> Any:
    if spec.load_from in ("ms_hub", "om_hub"):
        hub = "ModelScope" if spec.load_from == "ms_hub" else "Modelers"
        raise DataError(
            f"dataset {spec.name} loads from the {hub} hub ({spec.path}), which lmf workbench does not use; "
            "download it and point file_name at the local copy",
            dataset=spec.name,
        )
    if spec.load_from == "cloud_file":
        raise DataError(
            f"dataset {spec.name}: cloud_file_name ({spec.path}) is not supported; "
            "download the file and point file_name at the local copy",
            dataset=spec.name,
        )
    path = spec.path if spec.load_from == "hf_hub" else os.path.join(dataset_dir, spec.path)
    if spec.load_from == "hf_hub":
        _check_hub_access(spec.name, spec.path)
    from datasets import load_dataset

    try:
        return load_dataset(
            path=path, name=spec.subset, data_dir=spec.folder, split=spec.split, streaming=streaming, **kwargs
        )
    except Exception as exc:
        if spec.load_from == "hf_hub" and _is_connection_error(exc):
            raise offline_error(spec.name, spec.path) from None
        raise DataError(f"dataset {spec.name}: cannot load {path}: {_root_cause(exc)}", dataset=spec.name) from None


def read_dataset(
    spec: DatasetSpec,
    dataset_dir: str,
    *,
    streaming: bool = False,
    cache_dir: str | None = None,
    token: str | None = None,
    num_proc: int | None = None,
    num_shards: int = 1,
) -> "Dataset | IterableDataset":
    """The raw rows of ``spec`` as LLaMA-Factory loads them (before sampling and conversion).

    Local data is read whole and, when ``streaming``, turned into an IterableDataset of ``num_shards`` shards;
    hub and script datasets stream natively.
    """
    kwargs = {"cache_dir": cache_dir, "token": token, "num_proc": num_proc}
    if spec.load_from == "file":
        return _read_local(spec, dataset_dir, streaming, max(1, num_shards), **kwargs)
    return _read_hub(spec, dataset_dir, streaming, **kwargs)


def download_remote_info(repo: str, filename: str) -> str:
    """Fetch ``filename`` from the hub dataset repository ``repo`` (``dataset_dir: REMOTE:<repo>``)."""
    _check_hub_access(f"REMOTE:{repo}", repo)
    from huggingface_hub import hf_hub_download

    try:
        return hf_hub_download(repo_id=repo, filename=filename, repo_type="dataset")
    except Exception as exc:
        if _is_connection_error(exc):
            raise offline_error(f"REMOTE:{repo}", repo) from None
        raise DataError(f"cannot download {filename} from hub dataset {repo}: {_root_cause(exc)}") from None
