"""A split's encoded rows on disk as shards with completion markers, written as they are encoded.

A shard holds the encoded rows of a fixed range of the split's positions (``shard_rows`` of them), as one Arrow file
with a ``_pos`` column (the position each row came from: a row an encoder drops or a bad row has none). A shard
exists once its marker ``NNNNN.done`` (rows in and out, the bad rows found) does, and both are written beside and
renamed into place, so a crash leaves at most the shard being written unfinished; the next run encodes that one and
reads the others. Readers (data-loader workers, the next epoch, the next run) find a row by position.
"""

import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .rows import BadRowReport

if TYPE_CHECKING:
    from datasets import Dataset, Features

POSITION = "_pos"
MANIFEST = "manifest.json"


def column_features(columns: dict[str, list[Any]]) -> "Features | None":
    """Features of encoded columns (token id lists, flags, counts), from their first values; None when a column
    holds something else (neat packing's nested ``packing_params``)."""
    from datasets import Features, Sequence, Value

    features = {}
    for name, values in columns.items():
        first = values[0] if values else None
        if isinstance(first, bool) or (first is None and name == "kto_tags"):
            features[name] = Value("bool")
        elif isinstance(first, int):
            features[name] = Value("int64")
        elif first is None or (isinstance(first, list) and all(isinstance(v, int) for v in first[:8])):
            features[name] = Sequence(Value("int64"))
        else:
            return None
    return Features(features)


def _write_atomic(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


class ShardStore:
    """The shards of one encoded split in ``folder``: ``total`` positions, ``shard_rows`` per shard."""

    def __init__(self, folder: Path, total: int, shard_rows: int) -> None:
        self.folder = Path(folder)
        self.total = total
        self.shard_rows = shard_rows
        self._done: set[int] = set()
        self._open: dict[int, tuple[Any, Any]] = {}
        self._pid = os.getpid()

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_open": {}, "_done": set()}

    @property
    def count(self) -> int:
        """How many shards the split has."""
        return -(-self.total // self.shard_rows)

    def bounds(self, shard: int) -> tuple[int, int]:
        start = shard * self.shard_rows
        return start, min(start + self.shard_rows, self.total)

    def _marker(self, shard: int) -> Path:
        return self.folder / f"{shard:05d}.done"

    def _data(self, shard: int) -> Path:
        return self.folder / f"{shard:05d}.arrow"

    def is_done(self, shard: int) -> bool:
        if shard in self._done:
            return True
        if self._marker(shard).exists():
            self._done.add(shard)
            return True
        return False

    def done_shards(self) -> list[int]:
        return [shard for shard in range(self.count) if self.is_done(shard)]

    def complete(self) -> bool:
        return all(self.is_done(shard) for shard in range(self.count))

    def write(self, shard: int, rows: list[dict[str, Any] | None], bad: BadRowReport) -> None:
        """Write shard ``shard`` from its rows in position order (None for no row) and its bad rows; mark it done."""
        import pyarrow as pa
        from datasets.arrow_writer import ArrowWriter

        self.folder.mkdir(parents=True, exist_ok=True)
        start, _ = self.bounds(shard)
        kept = [(start + offset, row) for offset, row in enumerate(rows) if row is not None]
        names = list(kept[0][1]) if kept else []
        columns = {name: [row[name] for _, row in kept] for name in names}
        features = column_features(columns) if kept else None
        if kept and features is None:
            raise ValueError("rows with nested columns cannot be written to shards")

        def write_data(tmp: str) -> None:
            from datasets import Features, Value

            schema_features = Features({POSITION: Value("int64"), **(features or {})})
            writer = ArrowWriter(features=schema_features, path=tmp)
            arrays = [pa.array([pos for pos, _ in kept], type=pa.int64())]
            arrays += [pa.array(columns[name], type=schema_features[name].pa_type) for name in names]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema_features.arrow_schema))
            writer.finalize()

        _write_atomic(self._data(shard), write_data)
        marker = {"rows_in": len(rows), "rows_out": len(kept), "bad_rows": asdict(bad)}
        _write_atomic(self._marker(shard), lambda tmp: Path(tmp).write_text(json.dumps(marker), encoding="utf-8"))
        self._done.add(shard)

    def _shard(self, shard: int) -> tuple[Any, Any]:
        if self._pid != os.getpid():
            self._open, self._pid = {}, os.getpid()
        if shard not in self._open:
            from datasets import Dataset

            dataset = Dataset.from_file(str(self._data(shard)))
            self._open[shard] = (dataset, dataset.data.column(POSITION).to_numpy())
        return self._open[shard]

    def lookup(self, position: int) -> tuple[bool, dict[str, Any] | None]:
        """``(found, row)``: whether position's shard is done, and its row there (None when it has none)."""
        import numpy as np

        shard = position // self.shard_rows
        if not self.is_done(shard):
            return False, None
        dataset, positions = self._shard(shard)
        at = int(np.searchsorted(positions, position))
        if at >= len(positions) or positions[at] != position:
            return True, None
        row = dataset[at]
        del row[POSITION]
        return True, row

    def markers(self) -> list[dict[str, Any]]:
        return [json.loads(self._marker(shard).read_text(encoding="utf-8")) for shard in self.done_shards()]

    def bad_rows(self) -> BadRowReport:
        """The bad rows the finished shards found."""
        report = BadRowReport()
        for marker in self.markers():
            report.merge(BadRowReport.from_dict(marker["bad_rows"]))
        return report

    def dataset(self) -> "Dataset":
        """Every shard's rows in position order, without ``_pos``: the split as the eager path encodes it."""
        from datasets import Dataset, concatenate_datasets

        parts = [Dataset.from_file(str(self._data(shard))) for shard in range(self.count)]
        parts = [part for part in parts if len(part)] or parts[:1]
        return concatenate_datasets(parts).remove_columns([POSITION])
