"""Layer normalisation (Ba, Kiros & Hinton 2016) over the last axis."""

from __future__ import annotations

import numpy as np

from enc2dec.nn.checks import check_last_dim
from enc2dec.nn.module import Module
from enc2dec.nn.parameter import Parameter


class LayerNorm(Module):
    """x: (..., D) -> y = (x - mean) / sqrt(var + eps) * weight + bias, statistics over D."""

    def __init__(self, size: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = Parameter(np.ones(size, dtype=np.float32))
        self.bias = Parameter(np.zeros(size, dtype=np.float32))

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_last_dim(self, "x", x, self.weight.shape[0], self.weight.dtype)
        x_hat, inv_std = self._normalize(x)
        self._cache = (x_hat, inv_std)
        return x_hat * self.weight.value + self.bias.value

    def apply(self, x: np.ndarray) -> np.ndarray:
        """forward's output, caching nothing (decoding steps); computed in place, so no copy is kept."""
        y, _ = self._normalize(x)
        y *= self.weight.value
        y += self.bias.value
        return y

    def _normalize(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x -> x_hat = (x - mean) * inv_std (a new array), inv_std: (..., 1)."""
        mean = x.mean(axis=-1, keepdims=True)
        x_hat = x - mean
        var = np.mean(x_hat * x_hat, axis=-1, keepdims=True)
        inv_std = 1.0 / np.sqrt(var + self.eps)  # (..., 1)
        x_hat *= inv_std
        return x_hat, inv_std

    def backward(self, dy: np.ndarray) -> np.ndarray:
        # With g = dy * weight:  dx = inv_std * (g - mean(g) - x_hat * mean(g * x_hat))
        x_hat, inv_std = self.pop_cache()
        d = x_hat.shape[-1]
        self.weight.grad += (dy * x_hat).reshape(-1, d).sum(axis=0)
        self.bias.grad += dy.reshape(-1, d).sum(axis=0)
        g = dy * self.weight.value
        dx = g - g.mean(axis=-1, keepdims=True)
        dx -= x_hat * np.mean(g * x_hat, axis=-1, keepdims=True)
        dx *= inv_std
        return dx

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}"
