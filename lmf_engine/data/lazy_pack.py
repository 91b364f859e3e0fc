"""Packing on lazy data: rows are packed as they are encoded, a bounded buffer at a time.

The eager path packs each preprocessing batch (``preprocessing_batch_size`` rows, in the split's order) by greedy
knapsack. Here each epoch takes the split's positions in the trainer's order (shuffled with the seed and the epoch
unless ``disable_shuffling``), cuts them into buffers of the same size, encodes a buffer (from the cache where its
shards are done) and packs it with the same knapsack and pack layout. An epoch holds every usable row once, with
the same tokens as the eager path's rows; what differs is which rows share a pack, so the packs and their count
differ slightly (the packing efficiency, real tokens over capacity, stays within about a point of the eager one:
``benchmarks/lazy_packing.py``).

The trainer needs the number of packs before they exist: it is estimated from a sample of rows encoded and packed
at the start (with a margin), so an epoch usually ends a few steps before the trainer's count: those steps are
skipped, and no row is left out. Data-loader workers take every n-th buffer; under a distributed launch the main
process reads and the batches are sent to the others (``accelerate``'s dispatching of iterable datasets).
"""

import math
import multiprocessing
from typing import Any

import torch

from .lazy_rows import Dropped, LazyRows
from .processors.supervised import pack_encoded

SAMPLE_ROWS = 2000
MARGIN = 1.02
SAMPLE_KEY = 1 << 30
"""Mixed into the seed of the sample (epochs use their number)."""


class PackedLazyRows(torch.utils.data.IterableDataset):
    """Packs of a lazy split; see the module docstring. ``cutoff`` is the encoders' cutoff (``cutoff_len - 1``)."""

    def __init__(
        self, split: LazyRows, cutoff: int, pad_id: int, neat: bool, buffer_rows: int, seed: int, shuffle: bool
    ) -> None:
        self.split = split
        self.cutoff = cutoff
        self.pad_id = pad_id
        self.neat = neat
        self.buffer_rows = max(1, buffer_rows)
        self.seed = seed
        self.shuffle = shuffle
        self._epoch: Any = multiprocessing.get_context("fork").RawValue("q", 0)  # seen by persistent workers too
        self.packs = self._estimate()

    def __getstate__(self) -> dict[str, Any]:  # workers started by spawn get the epoch as a number
        return {**self.__dict__, "_epoch": self.epoch}

    @property
    def epoch(self) -> int:
        return self._epoch if isinstance(self._epoch, int) else int(self._epoch.value)

    def set_epoch(self, epoch: int) -> None:
        """Called by the trainer at each epoch: the next iteration uses that epoch's order."""
        if isinstance(self._epoch, int):
            self._epoch = epoch
        else:
            self._epoch.value = epoch

    def __len__(self) -> int:
        return self.packs

    def _order(self, epoch: int) -> Any:
        import numpy as np

        if not self.shuffle:
            return np.arange(len(self.split))
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.split))

    def _pack(self, positions: Any) -> list[dict[str, Any]]:
        rows = self.split.__getitems__([int(p) for p in positions])
        encoded = [(row["input_ids"], row["labels"]) for row in rows if not isinstance(row, Dropped)]
        columns = pack_encoded(encoded, self.cutoff, self.pad_id, self.neat)
        names = list(columns)
        return [{name: columns[name][i] for name in names} for i in range(len(columns.get("input_ids", [])))]

    def _estimate(self) -> int:
        """Packs per epoch: the packs per row of a packed sample, times the rows, with a margin."""
        import numpy as np

        total = len(self.split)
        sample = np.random.default_rng([self.seed, SAMPLE_KEY]).permutation(total)[:SAMPLE_ROWS]
        packs = sum(len(self._pack(sample[i : i + self.buffer_rows])) for i in range(0, len(sample), self.buffer_rows))
        if len(sample) == total:
            return max(1, packs)
        buffers = math.ceil(len(sample) / self.buffer_rows)
        per_row = packs / len(sample) if len(sample) >= self.buffer_rows else packs / buffers / self.buffer_rows
        return max(1, math.ceil(total * per_row * MARGIN))

    def __iter__(self) -> Any:
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        order = self._order(self.epoch)
        starts = range(worker * self.buffer_rows, len(order), self.buffer_rows * workers)
        for start in starts:
            yield from self._pack(order[start : start + self.buffer_rows])

    def iter_encoded(self) -> Any:
        """The packs of one epoch (epoch 0's order)."""
        for start in range(0, len(self.split), self.buffer_rows):
            yield from self._pack(self._order(0)[start : start + self.buffer_rows])
