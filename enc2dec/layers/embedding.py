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


def share_table(src: Embedding, tgt: Embedding, where: str) -> None:
    """One table for source and target (Press & Wolf 2017): tgt takes src's weight Parameter, so both uses add
    into one gradient. Needs one joint vocabulary (and one width)."""
    if src.weight.shape != tgt.weight.shape:
        raise ValueError(f"{where}: share_embeddings needs one joint vocabulary, got sizes {src.weight.shape[0]} and "
                         f"{tgt.weight.shape[0]}")  # fmt: skip
    tgt.weight = src.weight


class TiedOutput(Module):
    """The output projection tied to an embedding (Press & Wolf 2017; Vaswani et al. 2017, section 3.4):
    logits = x @ E^T + b, x: (..., D) -> (..., V). `weight` IS the embedding's (V, D) Parameter, so both uses add
    into one gradient (and it is saved once, under the embedding's name); the (V,) bias is this layer's own."""

    def __init__(self, embedding: Embedding):
        super().__init__()
        self.weight = embedding.weight
        self.bias = Parameter(init.zeros((embedding.weight.shape[0],)))

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._cache = x
        return self.apply(x)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """The output for x: (..., D) -> (..., V), caching nothing (decoding steps)."""
        y = (x.reshape(-1, x.shape[-1]) @ self.weight.value.T).reshape(*x.shape[:-1], -1)  # (..., V)
        y += self.bias.value
        return y

    @property
    def n_out(self) -> int:
        return self.weight.shape[0]

    def columns(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The weight (D, C) and bias (C,) of the outputs `ids` (C,): a restricted copy."""
        return np.ascontiguousarray(self.weight.value[ids].T), self.bias.value[ids]

    def backward(self, dy: np.ndarray) -> np.ndarray:
        # y = x E^T + b  =>  dE += dy^T x,  db = sum_N dy,  dx = dy E
        x = self.pop_cache()
        x2 = x.reshape(-1, x.shape[-1])  # (N, D)
        dy2 = dy.reshape(-1, dy.shape[-1])  # (N, V)
        self.weight.grad += dy2.T @ x2
        self.bias.grad += dy2.sum(axis=0)
        return (dy2 @ self.weight.value).reshape(x.shape)  # (..., D)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[1]} -> {self.weight.shape[0]}, tied"
