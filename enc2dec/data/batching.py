"""Padded mini-batches of token-id pairs: length-bucketed for training (resumable), in order for evaluation.

A pair is (src_ids, tgt_ids) without specials; a `Batch` frames each target as BOS ... EOS and pads with PAD=0.
`BucketBatcher` sorts the pairs by length once, cuts batches whose padded size max(S, T) * B stays within
`max_tokens`, and shuffles the order of those fixed batches every epoch with its own np.random.Generator.
Its state (epoch, position, the generator state at the epoch's start) resumes an interrupted epoch exactly,
the same protocol as enc2dec.data.arrays.ArrayBatcher, which the Trainer drives.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from enc2dec.data.vocab import Vocab

log = logging.getLogger(__name__)


@dataclass
class Batch:
    """src: (B, S) int64, src_lengths: (B,) int64, tgt: (B, T) int64 = BOS ... EOS then PAD, tgt_lengths: (B,)
    int64 (BOS and EOS counted), index: (B,) int64, the examples' positions in the data set."""

    src: np.ndarray
    src_lengths: np.ndarray
    tgt: np.ndarray
    tgt_lengths: np.ndarray
    index: np.ndarray

    @property
    def n_tgt_tokens(self) -> int:
        """Target tokens the model predicts: every one after BOS, EOS included (sum(tgt_lengths - 1))."""
        return int((self.tgt_lengths - 1).sum())

    @property
    def size(self) -> int:
        return int(self.src.shape[0])

    def __len__(self) -> int:
        return self.size


def pad(seqs: Sequence[Sequence[int]], pad_id: int = Vocab.PAD) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad: seqs (B lists) -> (ids: (B, L) int64, lengths: (B,) int64), L = the longest length."""
    if len(seqs) == 0:
        raise ValueError("pad: got no sequences")
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    ids = np.full((len(seqs), int(lengths.max())), pad_id, dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
    return ids, lengths


def _columns(pairs: Any) -> tuple[Sequence[Sequence[int]], Sequence[Sequence[int]]]:
    """ParallelText-like (has .src and .tgt) or a sequence of (src_ids, tgt_ids) -> (src lists, tgt lists)."""
    if hasattr(pairs, "src") and hasattr(pairs, "tgt"):
        src, tgt = pairs.src, pairs.tgt
    else:
        pairs = list(pairs)
        for k, p in enumerate(pairs):
            if len(p) != 2:
                raise ValueError(f"batching: pair {k} must be (src_ids, tgt_ids), got {len(p)} items")
        src, tgt = [p[0] for p in pairs], [p[1] for p in pairs]
    if len(src) != len(tgt):
        raise ValueError(f"batching: {len(src)} sources but {len(tgt)} targets")
    return src, tgt


def make_batch(src: Sequence[Sequence[int]], tgt: Sequence[Sequence[int]], index: np.ndarray) -> Batch:
    """The Batch of examples `index` (B,): sources as they are, targets framed BOS ... EOS."""
    index = np.asarray(index, dtype=np.int64)
    src_ids, src_lengths = pad([src[i] for i in index])
    tgt_ids, tgt_lengths = pad([[Vocab.BOS, *tgt[i], Vocab.EOS] for i in index])
    return Batch(src_ids, src_lengths, tgt_ids, tgt_lengths, index)


def batches_in_order(pairs: Any, batch_size: int) -> list[Batch]:
    """Consecutive batches in the data's own order (evaluation, decoding): batch k holds examples
    k*batch_size ... (k+1)*batch_size - 1. A list, so it can be iterated more than once."""
    if batch_size < 1:
        raise ValueError(f"batches_in_order: batch_size must be >= 1, got {batch_size}")
    src, tgt = _columns(pairs)
    n = len(src)
    return [make_batch(src, tgt, np.arange(i, min(i + batch_size, n))) for i in range(0, n, batch_size)]


class BucketBatcher:
    """Length-bucketed training batches; one `for` loop is one epoch (or the rest of it).

    pairs: ParallelText or a sequence of (src_ids, tgt_ids). max_tokens bounds max(S, T) * B, T counting BOS and
    EOS; a single pair longer than that gets a batch of its own (never dropped). max_batch_size bounds B.
    After `shard(rank, size)` it yields this process's share of each (global) batch, None where that share is
    empty; the state stays global, so a run resumes with any number of processes.
    """

    def __init__(
        self, pairs: Any, max_tokens: int, *, shuffle: bool = True, seed: int = 0, max_batch_size: int | None = None
    ):
        if max_tokens < 1:
            raise ValueError(f"BucketBatcher: max_tokens must be >= 1, got {max_tokens}")
        if max_batch_size is not None and max_batch_size < 1:
            raise ValueError(f"BucketBatcher: max_batch_size must be >= 1 or None, got {max_batch_size}")
        self.src, self.tgt = _columns(pairs)
        self.max_tokens = max_tokens
        self.max_batch_size = max_batch_size
        self.shuffle = shuffle
        self.epoch = 0
        self.position = 0  # batches already yielded in this epoch
        self._rng = np.random.default_rng(seed)
        self._batches = self._cut()
        self.rank, self.n_shards = 0, 1

    def shard(self, rank: int, size: int) -> None:
        """Yield only the examples of share `rank` of `size` (examples rank, rank + size, ... of each global batch)."""
        self.rank, self.n_shards = rank, size

    def _cut(self) -> list[np.ndarray]:
        n = len(self.src)
        src_len = np.array([len(s) for s in self.src], dtype=np.int64)
        tgt_len = np.array([len(t) + 2 for t in self.tgt], dtype=np.int64)
        order = np.lexsort((np.arange(n), tgt_len, src_len))  # by source length, then target length, then index
        batches, current, width, oversized = [], [], 0, 0
        for i in order.tolist():
            need = max(width, int(src_len[i]), int(tgt_len[i]))
            full = self.max_batch_size is not None and len(current) >= self.max_batch_size
            if current and (need * (len(current) + 1) > self.max_tokens or full):
                batches.append(np.array(current, dtype=np.int64))
                current, need = [], max(int(src_len[i]), int(tgt_len[i]))
            oversized += need > self.max_tokens and not current
            current.append(i)
            width = need
        if current:
            batches.append(np.array(current, dtype=np.int64))
        if oversized:
            log.warning(
                "BucketBatcher: %d pairs exceed max_tokens=%d alone; each is a batch of one", oversized, self.max_tokens
            )
        return batches

    def __len__(self) -> int:
        return len(self._batches)

    def _order(self) -> np.ndarray:
        # Drawn from a copy: the generator only advances at the epoch's end, so a resumed epoch redraws this order.
        return copy.deepcopy(self._rng).permutation(len(self)) if self.shuffle else np.arange(len(self))

    def __iter__(self) -> Iterator[Batch | None]:
        order = self._order()
        while self.position < len(self):
            index = self._batches[order[self.position]]
            self.position += 1
            if self.n_shards > 1:
                index = index[self.rank :: self.n_shards]  # strided: the length-sorted rows balance
            yield make_batch(self.src, self.tgt, index) if len(index) else None
        self.epoch += 1
        self.position = 0
        if self.shuffle:
            self._rng.permutation(len(self))

    def state_dict(self) -> dict[str, Any]:
        """JSON-able: epoch, position in the epoch, generator state at the epoch's start, and the batch count."""
        return {
            "epoch": self.epoch,
            "position": self.position,
            "rng": copy.deepcopy(self._rng.bit_generator.state),
            "n_batches": len(self),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if int(state["n_batches"]) != len(self):
            raise ValueError(
                f"BucketBatcher.load_state_dict: the state is for {state['n_batches']} batches, this batcher has "
                f"{len(self)} (different data or max_tokens?)"
            )
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self._rng.bit_generator.state = copy.deepcopy(state["rng"])
