"""dataset_info.json, as LLaMA-Factory defines it, parsed into typed :class:`DatasetSpec` objects.

The semantics follow LLaMA-Factory's ``DatasetAttr``: an entry's ``columns`` (or ``tags``) object, when present,
replaces *all* column (tag) defaults, so a column it does not name is unset; hub URLs win over ``script_url``,
which wins over ``cloud_file_name``, which wins over ``file_name``. Unlike LLaMA-Factory, unknown keys and
malformed values are reported instead of ignored.
"""

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from lmf_engine.util.suggest import did_you_mean

from .errors import DataError

DATA_CONFIG = "dataset_info.json"
LoadFrom = Literal["hf_hub", "ms_hub", "om_hub", "script", "cloud_file", "file"]
Formatting = Literal["alpaca", "sharegpt", "openai"]
FORMATTINGS: tuple[str, ...] = ("alpaca", "sharegpt", "openai")
SOURCE_KEYS = ("hf_hub_url", "ms_hub_url", "om_hub_url", "script_url", "cloud_file_name", "file_name")
ENTRY_KEYS = (*SOURCE_KEYS, "formatting", "ranking", "subset", "split", "folder", "num_samples", "columns", "tags")
IGNORED_KEYS = ("file_sha1",)  # written by old LLaMA-Factory versions, ignored by every version since
MEDIA_COLUMNS = ("images", "videos", "audios")


@dataclass(frozen=True, slots=True)
class Columns:
    """Which field of a row holds what; ``None`` means the dataset has no such column."""

    prompt: str | None = "instruction"
    query: str | None = "input"
    response: str | None = "output"
    history: str | None = None
    messages: str | None = "conversations"
    system: str | None = None
    tools: str | None = None
    images: str | None = None
    videos: str | None = None
    audios: str | None = None
    chosen: str | None = None
    rejected: str | None = None
    kto_tag: str | None = None


@dataclass(frozen=True, slots=True)
class Tags:
    """The keys and role values of sharegpt/openai messages."""

    role_tag: str | None = "from"
    content_tag: str | None = "value"
    user_tag: str | None = "human"
    assistant_tag: str | None = "gpt"
    observation_tag: str | None = "observation"
    function_tag: str | None = "function_call"
    system_tag: str | None = "system"


COLUMN_KEYS = tuple(f.name for f in fields(Columns))
TAG_KEYS = tuple(f.name for f in fields(Tags))


@dataclass(frozen=True, slots=True)
class DatasetSpec:
    """One dataset entry. ``path`` is the file/folder name, hub repository, script folder or cloud path."""

    name: str
    load_from: LoadFrom
    path: str
    formatting: Formatting = "alpaca"
    ranking: bool = False
    subset: str | None = None
    split: str = "train"
    folder: str | None = None
    num_samples: int | None = None
    columns: Columns = field(default_factory=Columns)
    tags: Tags = field(default_factory=Tags)
    info_file: str | None = None

    @property
    def is_kto(self) -> bool:
        """True when the dataset has a kto_tag column."""
        return self.columns.kto_tag is not None

    @property
    def media_columns(self) -> list[str]:
        """The image/video/audio columns set for this dataset."""
        return [name for name in MEDIA_COLUMNS if getattr(self.columns, name)]

    def used_columns(self) -> dict[str, str]:
        """Column role -> field name for every field the converter reads, so each must exist in the data."""
        c = self.columns
        if self.formatting == "alpaca":
            roles = ["prompt", "query", "response", "history", "system", "tools"]
        else:  # the openai converter reads system and tools with .get(), so they may be absent
            roles = ["messages"] + (["system", "tools"] if self.formatting == "sharegpt" else [])
        roles += ["kto_tag", *MEDIA_COLUMNS] + (["chosen", "rejected"] if self.ranking else [])
        return {role: getattr(c, role) for role in roles if getattr(c, role)}


def _use_hub(env: str) -> bool:
    return os.getenv(env, "0").lower() in ("true", "y", "1")


def _where(info_file: str | None, name: str) -> str:
    return f"{info_file or DATA_CONFIG}, entry {name!r}"


def _hint(name: str, candidates: Sequence[str]) -> str:
    close = did_you_mean(name, candidates)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def _check_keys(obj: Mapping[str, Any], allowed: Sequence[str], what: str, where: str, name: str) -> None:
    for key in obj:
        if key not in allowed and key not in IGNORED_KEYS:
            raise DataError(f"{where}: unknown {what} {key!r}{_hint(key, allowed)}", dataset=name)


def _names_object(entry: Mapping[str, Any], key: str, allowed: Sequence[str], where: str, name: str) -> dict:
    obj = entry[key]
    if not isinstance(obj, dict):
        raise DataError(f"{where}: {key!r} must be an object, not {type(obj).__name__}", dataset=name)
    _check_keys(obj, allowed, key[:-1] if key == "columns" else "tag", where, name)
    for sub, value in obj.items():
        if value is not None and not isinstance(value, str):
            raise DataError(f"{where}: {key}.{sub} must be a field name (text), not {value!r}", dataset=name)
    return {sub: obj.get(sub) for sub in allowed}  # as in LLaMA-Factory, unnamed ones become unset


def _source(entry: Mapping[str, Any], where: str, name: str) -> tuple[LoadFrom, str]:
    hf, ms, om = (key in entry for key in ("hf_hub_url", "ms_hub_url", "om_hub_url"))
    if ms and (_use_hub("USE_MODELSCOPE_HUB") or not hf):
        load_from, key = "ms_hub", "ms_hub_url"
    elif om and (_use_hub("USE_OPENMIND_HUB") or not hf):
        load_from, key = "om_hub", "om_hub_url"
    elif hf:
        load_from, key = "hf_hub", "hf_hub_url"
    elif "script_url" in entry:
        load_from, key = "script", "script_url"
    elif "cloud_file_name" in entry:
        load_from, key = "cloud_file", "cloud_file_name"
    elif "file_name" in entry:
        load_from, key = "file", "file_name"
    else:
        raise DataError(f"{where}: needs file_name (or hf_hub_url, ms_hub_url, script_url)", dataset=name)
    value = entry[key]
    if not isinstance(value, str) or not value:
        raise DataError(f"{where}: {key} must be a non-empty text, not {value!r}", dataset=name)
    return load_from, value  # type: ignore[return-value]


def parse_entry(name: str, entry: Any, info_file: str | None = None) -> DatasetSpec:
    """Validate one dataset_info.json entry and turn it into a :class:`DatasetSpec`."""
    where = _where(info_file, name)
    if not isinstance(entry, dict):
        raise DataError(f"{where}: must be an object, not {type(entry).__name__}", dataset=name)
    _check_keys(entry, ENTRY_KEYS, "key", where, name)
    load_from, path = _source(entry, where, name)
    formatting = entry.get("formatting", "alpaca")
    if formatting not in FORMATTINGS:
        raise DataError(
            f"{where}: formatting must be one of {', '.join(FORMATTINGS)}, not {formatting!r}", dataset=name
        )
    ranking = entry.get("ranking", False)
    if not isinstance(ranking, bool):
        raise DataError(f"{where}: ranking must be true or false, not {ranking!r}", dataset=name)
    num_samples = entry.get("num_samples")
    if num_samples is not None and (
        isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1
    ):
        raise DataError(f"{where}: num_samples must be a whole number >= 1, not {num_samples!r}", dataset=name)
    for key in ("subset", "split", "folder"):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise DataError(f"{where}: {key} must be a text, not {entry[key]!r}", dataset=name)
    columns = Columns(**_names_object(entry, "columns", COLUMN_KEYS, where, name)) if "columns" in entry else Columns()
    tags = Tags(**_names_object(entry, "tags", TAG_KEYS, where, name)) if "tags" in entry else Tags()
    return DatasetSpec(
        name=name,
        load_from=load_from,
        path=path,
        formatting=formatting,
        ranking=ranking,
        subset=entry.get("subset"),
        split=entry.get("split") or "train",
        folder=entry.get("folder"),
        num_samples=num_samples,
        columns=columns,
        tags=tags,
        info_file=info_file,
    )


@dataclass(frozen=True)
class DatasetInfo:
    """The parsed dataset_info.json of a dataset_dir: raw entries, validated one by one on :meth:`spec`."""

    path: str | None
    entries: Mapping[str, Any]

    def names(self) -> list[str]:
        """Every dataset name the file defines."""
        return list(self.entries)

    def spec(self, name: str) -> DatasetSpec:
        """The validated spec of dataset ``name``; unknown names get a did-you-mean hint."""
        if name not in self.entries:
            where = self.path or DATA_CONFIG
            raise DataError(f"dataset {name!r} is not defined in {where}{_hint(name, self.names())}", dataset=name)
        return parse_entry(name, self.entries[name], self.path)

    def problems(self) -> list[DataError]:
        """Every invalid entry of the file (for a whole-file check)."""
        found = []
        for name in self.entries:
            try:
                self.spec(name)
            except DataError as exc:
                found.append(exc)
        return found


def _read_info_text(path: str, text: str) -> DatasetInfo:
    try:
        entries = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path} is not valid JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}", file=path
        ) from None
    if not isinstance(entries, dict):
        raise DataError(
            f"{path} must hold one JSON object of dataset entries, not {type(entries).__name__}", file=path
        )
    return DatasetInfo(path, entries)


def read_dataset_info(dataset_dir: str | os.PathLike[str]) -> DatasetInfo:
    """Read ``dataset_dir``/dataset_info.json; ``REMOTE:<repo>`` reads it from a hub dataset repository."""
    dataset_dir = str(dataset_dir)
    if dataset_dir.startswith("REMOTE:"):
        from .readers import download_remote_info

        path = download_remote_info(dataset_dir[len("REMOTE:") :], DATA_CONFIG)
    else:
        path = os.path.join(dataset_dir, DATA_CONFIG)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"cannot find {path} (dataset_dir is {dataset_dir!r})", file=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}", file=path) from None
    return _read_info_text(path, text)


def split_names(value: str | Sequence[str] | None) -> list[str]:
    """``"a, b"`` -> ``["a", "b"]`` as LLaMA-Factory splits dataset lists; None -> []."""
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(",")]
    return list(value)


def online_spec(name: str) -> DatasetSpec:
    """The spec LLaMA-Factory uses with ``dataset_dir: ONLINE``: the name is a hub repository, default columns."""
    modelscope, openmind = _use_hub("USE_MODELSCOPE_HUB"), _use_hub("USE_OPENMIND_HUB")
    load_from: LoadFrom = "ms_hub" if modelscope else "om_hub" if openmind else "hf_hub"
    return DatasetSpec(name=name, load_from=load_from, path=name)


def get_dataset_specs(names: str | Sequence[str] | None, dataset_dir: str | os.PathLike[str]) -> list[DatasetSpec]:
    """The specs of the comma-separated (or listed) dataset names, in order."""
    wanted = split_names(names)
    if not wanted:
        return []
    if str(dataset_dir) == "ONLINE":
        return [online_spec(name) for name in wanted]
    info = read_dataset_info(dataset_dir)
    return [info.spec(name) for name in wanted]
