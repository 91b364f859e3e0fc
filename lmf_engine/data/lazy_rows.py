"""A map-style dataset over a split's raw rows: each row is converted and encoded when the sampler asks for it.

Position N is the row the eager path puts at position N (:mod:`.lazy_plan`), encoded by the same converter and
encoder, so the trainer's sampler, shuffling, epochs and distributed sharding work as over the eager dataset and
each process encodes only the rows it is given. A position whose shard the background encoder has finished is read
from the cache instead (:mod:`.shards`). A row that cannot be used (``on_bad_row: skip``) or that the encoder drops
comes out as :class:`Dropped`, which :class:`SkipDropped` leaves out of the batch; with ``on_bad_row: fail`` the
row stops training with an error naming its file and row.
"""

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import BadRow, BadRowsError, DataError
from .example import Example
from .processors import EncodeOptions, Stage, encode, examples_from_columns
from .processors.runner import PARALLELISM_ENV
from .rows import BadRowReport

if TYPE_CHECKING:
    from .lazy_plan import SplitPlan
    from .shards import ShardStore
    from .templates import ElementEncoder, Template

COLUMNS = ("_prompt", "_response", "_system", "_tools", "_kto_tag", "_images", "_videos", "_audios")


@dataclass
class RowEncoder:
    """Raw rows of a split -> encoded rows (or None), with the eager path's converter and encoder."""

    stage: Stage
    template: "Template"
    tokenizer: Any
    options: EncodeOptions
    do_generate: bool = False
    _encoder: "ElementEncoder | None" = field(default=None, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_encoder": None}

    def convert(self, plan: "SplitPlan", position: int) -> tuple[dict[str, Any] | None, BadRow | None]:
        """Position's converted row (``Example.to_row`` columns), or None and the reason it cannot be used."""
        source = plan.sources[int(plan.source[position])]
        row_number = int(plan.row[position])
        converted = source.converter(source.rows.row(row_number), row_number)
        reason = converted.pop("_error")
        if reason is not None:
            return None, BadRow(source.spec.name, source.file, row_number + 1, reason)
        return converted, None

    def _encode(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from .templates import ElementEncoder

        if self._encoder is None:
            # a few rows at a time: the Rust thread pool would only spin against the training loop for a core
            os.environ[PARALLELISM_ENV] = "false"
            self._encoder = ElementEncoder(self.tokenizer)
        batch = {name: [row[name] for row in rows] for name in COLUMNS}
        examples: list[Example] = examples_from_columns(batch)
        options, generate = self.options, self.do_generate
        columns = encode(self.stage, self.template, self.tokenizer, examples, options, generate, self._encoder)
        names = list(columns)
        return [{name: columns[name][i] for name in names} for i in range(len(columns[names[0]]) if names else 0)]

    def encode_rows(self, rows: list[dict[str, Any] | None]) -> list[dict[str, Any] | None]:
        """Encode converted rows in one batch; a row the encoder drops (and a None) gives None."""
        present = [row for row in rows if row is not None]
        encoded = self._encode(present) if present else []
        if len(encoded) != len(present):  # the encoder dropped some: find which, one row at a time
            encoded = [next(iter(self._encode([row])), None) for row in present]
        out = iter(encoded)
        return [next(out) if row is not None else None for row in rows]


@dataclass(frozen=True)
class Dropped:
    """A position without a row for the trainer (a skipped bad row, or one the encoder drops)."""

    dataset: "LazyRows"
    position: int


class LazyRows:
    """The map-style dataset of one split; see the module docstring."""

    def __init__(self, plan: "SplitPlan", encoder: RowEncoder, store: "ShardStore | None", fail: bool) -> None:
        self.plan = plan
        self.encoder = encoder
        self.store = store
        self.fail = fail

    def __len__(self) -> int:
        return len(self.plan)

    def __getitem__(self, position: int) -> Any:
        return self.__getitems__([position])[0]

    def __getitems__(self, positions: list[int]) -> list[Any]:
        results: dict[int, Any] = {}
        wanted = []
        for position in positions:
            position = int(position)
            if position < 0 or position >= len(self):
                raise IndexError(f"position {position} is outside the split's {len(self)} rows")
            found, row = self.store.lookup(position) if self.store is not None else (False, None)
            if found:
                results[position] = row if row is not None else Dropped(self, position)
            else:
                wanted.append(position)
        converted = []
        for position in wanted:
            row, bad = self.encoder.convert(self.plan, position)
            if bad is not None and self.fail:
                raise DataError(str(BadRowsError([bad], 1)), dataset=bad.dataset, file=bad.file)
            converted.append(row)
        for position, encoded in zip(wanted, self.encoder.encode_rows(converted), strict=True):
            results[position] = encoded if encoded is not None else Dropped(self, position)
        return [results[int(position)] for position in positions]

    def next_row(self, position: int) -> dict[str, Any]:
        """The first row for the trainer after ``position`` (wrapping round): stands in for a batch with none."""
        for step in range(1, len(self) + 1):
            row = self[(position + step) % len(self)]
            if not isinstance(row, Dropped):
                return row
        raise DataError("no usable row is left in the split: every row is bad or dropped by the encoder")

    def iter_encoded(self) -> Any:
        """Every row for the trainer, in position order (from the cache where it is done)."""
        for start in range(0, len(self), 256):
            for row in self.__getitems__(list(range(start, min(start + 256, len(self))))):
                if not isinstance(row, Dropped):
                    yield row

    def bad_rows(self) -> BadRowReport:
        """The bad rows found so far (by the background encoder's finished shards)."""
        return self.store.bad_rows() if self.store is not None else BadRowReport()


def present_rows(features: list[Any]) -> list[dict[str, Any]]:
    """A batch's rows without the :class:`Dropped` positions (a batch left empty takes the next usable row)."""
    kept = [feature for feature in features if not isinstance(feature, Dropped)]
    if not kept and features:
        first = features[0]
        kept = [first.dataset.next_row(first.position)]
    return kept


@dataclass
class SkipDropped:
    """A collator wrapper that leaves :class:`Dropped` positions out of a batch (see :func:`present_rows`)."""

    collator: Any

    def __call__(self, features: list[Any]) -> Any:
        return self.collator(present_rows(features))
