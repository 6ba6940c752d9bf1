"""Token embeddings: a table lookup whose gradient is a scatter-add."""

from __future__ import annotations

import numpy as np

from enc2dec.nn import init
from enc2dec.nn.checks import check_int
from enc2dec.nn.module import Module
from enc2dec.nn.parameter import Parameter


class Embedding(Module):
    """ids: (...) int -> y: (..., E). The row `padding_idx` starts at zero and never gets a gradient."""

    def __init__(self, vocab_size: int, embed_size: int, *, rng: np.random.Generator, padding_idx: int | None = None):
        super().__init__()
        if padding_idx is not None and not 0 <= padding_idx < vocab_size:
            raise ValueError(f"Embedding: padding_idx must be in [0, {vocab_size}), got {padding_idx}")
        self.padding_idx = padding_idx
        self.weight = Parameter(init.normal((vocab_size, embed_size), 1.0, rng))
        if padding_idx is not None:
            self.weight.value[padding_idx] = 0

    def forward(self, ids: np.ndarray) -> np.ndarray:
        check_int(self, "ids", ids)
        vocab_size = self.weight.shape[0]
        if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
            raise ValueError(f"{self!r}: ids must be in [0, {vocab_size}), got [{ids.min()}, {ids.max()}]")
        self._cache = ids
        return self.weight.value[ids]  # (...) -> (..., E)

    def backward(self, dy: np.ndarray) -> tuple[()]:
        # y = W[ids]  =>  dW[v] = sum of dy over the positions where ids == v
        ids = self.pop_cache().reshape(-1)
        dy2 = dy.reshape(-1, dy.shape[-1])  # (N, E)
        if self.padding_idx is not None:
            keep = ids != self.padding_idx
            ids, dy2 = ids[keep], dy2[keep]
        np.add.at(self.weight.grad, ids, dy2)
        return ()  # integer ids get no gradient

    def extra_repr(self) -> str:
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.weight.shape[0]}, {self.weight.shape[1]}{pad}"
