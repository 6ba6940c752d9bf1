"""Inverted dropout: scaled at training time, the identity at evaluation."""

from __future__ import annotations

import numpy as np

from enc2dec.nn.module import Module


class Dropout(Module):
    """x: (...) -> y: (...). Keeps each unit with probability 1 - p and scales it by 1 / (1 - p)."""

    def __init__(self, p: float, *, rng: np.random.Generator):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p
        self.rng = rng

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not self.training or self.p == 0.0:
            self._cache = False
            return x
        mask = self.rng.random(x.shape, dtype=np.float32) >= self.p
        scaled = mask.astype(x.dtype)
        scaled *= 1.0 / (1.0 - self.p)
        self._cache = scaled
        return x * scaled

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Evaluation's output (the identity), caching nothing (decoding steps)."""
        return x

    def backward(self, dy: np.ndarray) -> np.ndarray:
        scaled = self.pop_cache()
        return dy if scaled is False else dy * scaled

    def extra_repr(self) -> str:
        return f"p={self.p}"
