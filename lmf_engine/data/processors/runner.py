"""Encode a whole ``datasets.Dataset`` with a batch encoder: in this process, or in forked worker processes.

The result is what ``dataset.map(fn, batched=True, batch_size=B, num_proc=N, remove_columns=<all>)`` gives, row
for row: the rows are cut into the same N contiguous shards and each shard into the same batches of B rows (packing
and knapsacks depend on the batches). What it leaves out are ``map``'s fixed costs: the workers are forked, so
they inherit the encoder and tokenizer instead of unpickling and re-importing them; each batch becomes Arrow in one
conversion per column, with the types given; nothing is hashed for a fingerprint. The encoded rows are written to
Arrow files in a folder that lives as long as this process (beside the dataset's cache files, where ``map`` writes
its own) and read back memory-mapped, so memory stays bounded whatever the size of the data. Given a folder to keep,
each file gets a completion marker, and an encode started again after a crash encodes only the unfinished ones.

With one worker the encoding runs in this process and the fast tokenizer's batch encoder uses its own thread pool
as it does in any transformers program (``TOKENIZERS_PARALLELISM=false`` or ``RAYON_NUM_THREADS`` limit it). Forked
workers are one thread each: the pool is switched off for them (a Rust thread pool does not survive ``fork``), so
N workers use N cores.
"""

import atexit
import glob
import math
import multiprocessing
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datasets import Dataset, Features

PARALLELISM_ENV = "TOKENIZERS_PARALLELISM"
DONE = ".done"
CHUNKS_PER_WORKER = 16
"""Tasks per worker: small enough to balance the load and move the progress bar, few enough to stay cheap."""

BatchFn = Callable[[Mapping[str, Sequence[Any]]], dict[str, list[Any]]]


@dataclass(frozen=True)
class _Job:
    """What a forked worker inherits: the rows, the encoder and where and how to write.

    ``keep``: the folder outlives this process, and each chunk file gets a ``.done`` marker once complete.
    """

    dataset: "Dataset"
    fn: BatchFn
    features: "Features"
    folder: str
    prefix: str
    keep: bool = False

    def path(self, index: int) -> str:
        return os.path.join(self.folder, f"{self.prefix}-{index:05d}.arrow")

    def is_done(self, index: int) -> bool:
        return self.keep and os.path.exists(self.path(index) + DONE)


_JOB: _Job | None = None


def can_fork() -> bool:
    """Whether worker processes can start by ``fork`` (Linux; macOS's fork is unsafe with its system libraries)."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def shard_bounds(rows: int, shards: int) -> list[tuple[int, int]]:
    """``Dataset.shard(shards, i, contiguous=True)``'s row ranges."""
    div, mod = divmod(rows, shards)
    bounds = []
    for index in range(shards):
        start = div * index + min(index, mod)
        bounds.append((start, start + div + (1 if index < mod else 0)))
    return bounds


def plan_chunks(rows: int, workers: int, batch_size: int) -> list[list[tuple[int, int]]]:
    """Tasks of whole batches, in row order: ``map``'s shards (one per worker) cut into batches, grouped (a task is
    also the unit a resumed encode skips when it was finished before)."""
    tasks = []
    for start, end in shard_bounds(rows, workers):
        batches = [(b, min(b + batch_size, end)) for b in range(start, end, batch_size)]
        per_task = max(1, math.ceil(len(batches) / CHUNKS_PER_WORKER))
        tasks.extend(batches[i : i + per_task] for i in range(0, len(batches), per_task))
    return tasks


@contextmanager
def single_threaded_tokenizers() -> Iterator[None]:
    """Switch off the Rust tokenizers' thread pool (read at each call, and inherited by forked workers)."""
    before = os.environ.get(PARALLELISM_ENV)
    os.environ[PARALLELISM_ENV] = "false"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(PARALLELISM_ENV, None)
        else:
            os.environ[PARALLELISM_ENV] = before


def _output_folder(dataset: "Dataset") -> str:
    """A folder removed when this process exits: beside the dataset's cache files (where ``map`` would write, on a
    disk sized for the data), else ``datasets``' temporary folder."""
    if dataset.cache_files:
        try:
            folder = tempfile.mkdtemp(prefix="lmf-encoded-", dir=os.path.dirname(dataset.cache_files[0]["filename"]))
        except OSError:
            pass
        else:
            atexit.register(shutil.rmtree, folder, True)
            return folder
    from datasets.fingerprint import get_temporary_cache_files_directory

    return get_temporary_cache_files_directory()


def _encode_chunk(job: _Job, index: int, batches: list[tuple[int, int]], progress: Any = None) -> str:
    """Encode ``batches`` (row ranges) into one Arrow file; its path."""
    import pyarrow as pa
    from datasets.arrow_writer import ArrowWriter

    schema = job.features.arrow_schema
    final = job.path(index)
    path = final + ".tmp" if job.keep else final
    writer = ArrowWriter(features=job.features, path=path)
    try:
        for start, end in batches:
            columns = job.fn(job.dataset[start:end])
            if columns and len(next(iter(columns.values()))):
                arrays = [pa.array(columns[field.name], type=field.type) for field in schema]
                writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            if progress is not None:
                progress.update(end - start)
        writer.finalize()
    except BaseException:
        writer.stream.close()
        if os.path.exists(path):
            os.remove(path)
        raise
    if job.keep:
        os.replace(path, final)
        with open(final + DONE, "w", encoding="utf-8"):
            pass
    return final


def _work(task: tuple[int, list[tuple[int, int]]]) -> str:
    if _JOB is None:
        raise RuntimeError("encode worker started without a job")
    return _encode_chunk(_JOB, *task)


def encode_dataset(
    dataset: "Dataset",
    fn: BatchFn,
    features: "Features",
    *,
    workers: int = 1,
    batch_size: int | None = 1000,
    desc: str = "Encoding",
    keep: str | os.PathLike[str] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
) -> "Dataset":
    """``fn`` over ``dataset`` in batches, in ``workers`` forked processes (this process for one): a Dataset of
    the columns ``fn`` returns, with ``features``. Needs :func:`can_fork` for more than one worker.

    With ``keep`` the chunk files go to that folder with completion markers and stay there: an encode that was
    killed and is started again with the same folder (same data, encoder, workers and batch size) encodes only the
    chunks without a marker. ``on_plan(chunks, done)`` is told how many chunks there are and how many were done.
    """
    global _JOB
    from datasets import Dataset, concatenate_datasets
    from datasets.utils.tqdm import tqdm

    rows = len(dataset)
    workers = max(1, min(workers, rows))
    batch_size = batch_size if batch_size and batch_size > 0 else max(rows, 1)
    if keep is not None:
        os.makedirs(keep, exist_ok=True)
        job = _Job(dataset, fn, features, os.fspath(keep), "chunk", keep=True)
    else:
        job = _Job(dataset, fn, features, _output_folder(dataset), f"cache-lmf-{uuid.uuid4().hex}")
    tasks = list(enumerate(plan_chunks(rows, workers, batch_size))) or [(0, [])]
    todo = [(index, batches) for index, batches in tasks if not job.is_done(index)]
    if on_plan is not None:
        on_plan(len(tasks), len(tasks) - len(todo))
    label = desc if workers == 1 else f"{desc} (workers={workers})"
    try:
        with tqdm(total=sum(_rows_of(b) for _, b in todo), unit=" examples", desc=label) as progress:
            if workers == 1 or len(todo) <= 1:
                for index, batches in todo:
                    _encode_chunk(job, index, batches, progress)
            else:
                _JOB = job
                with single_threaded_tokenizers(), multiprocessing.get_context("fork").Pool(workers) as pool:
                    for (_, batches), _path in zip(todo, pool.imap(_work, todo), strict=True):
                        progress.update(_rows_of(batches))
    except BaseException:
        if not job.keep:
            for path in glob.glob(os.path.join(glob.escape(job.folder), f"{job.prefix}-*.arrow")):
                os.remove(path)
        raise
    finally:
        _JOB = None
    parts = [Dataset.from_file(job.path(index), split=dataset.split) for index, _ in tasks]
    return parts[0] if len(parts) == 1 else concatenate_datasets(parts)


def _rows_of(batches: list[tuple[int, int]]) -> int:
    return batches[-1][1] - batches[0][0] if batches else 0
