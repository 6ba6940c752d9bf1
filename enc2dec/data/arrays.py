"""Mini-batches of in-memory arrays, shuffled per epoch by their own generator, resumable mid-epoch."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import numpy as np


class ArrayBatcher:
    """Yields tuples of row-aligned slices `(a[idx], b[idx], ...)`; one `for` loop is one epoch (or its rest).

    arrays: each (N, ...), the same N. The state (epoch, position, generator state at the epoch's start) is
    enough to resume exactly where an uninterrupted run would be. After `shard(rank, size)` it yields this
    process's share of each (global) batch, None where that share is empty; the state stays global.
    """

    def __init__(self, *arrays: np.ndarray, batch_size: int, shuffle: bool = True, seed: int = 0):
        if not arrays:
            raise ValueError("ArrayBatcher: give at least one array")
        n = len(arrays[0])
        for i, a in enumerate(arrays):
            if len(a) != n:
                raise ValueError(f"ArrayBatcher: array {i} has {len(a)} rows, array 0 has {n}")
        if batch_size < 1:
            raise ValueError(f"ArrayBatcher: batch_size must be >= 1, got {batch_size}")
        self.arrays = arrays
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.epoch = 0
        self.position = 0  # batches already yielded in this epoch
        self._rng = np.random.default_rng(seed)
        self.rank, self.n_shards = 0, 1

    def shard(self, rank: int, size: int) -> None:
        """Yield only the rows of share `rank` of `size` (rows rank, rank + size, ...)."""
        self.rank, self.n_shards = rank, size

    def __len__(self) -> int:
        return -(-len(self.arrays[0]) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, ...] | None]:
        n = len(self.arrays[0])
        # The epoch's order is drawn from a copy, so a resumed run (same state) draws the same order.
        order = copy.deepcopy(self._rng).permutation(n) if self.shuffle else np.arange(n)
        while self.position < len(self):
            idx = order[self.position * self.batch_size : (self.position + 1) * self.batch_size]
            self.position += 1
            if self.n_shards > 1:
                idx = idx[self.rank :: self.n_shards]
            yield tuple(a[idx] for a in self.arrays) if len(idx) else None
        self.epoch += 1
        self.position = 0
        if self.shuffle:
            self._rng.permutation(n)

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "position": self.position, "rng": self._rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self._rng.bit_generator.state = copy.deepcopy(state["rng"])
