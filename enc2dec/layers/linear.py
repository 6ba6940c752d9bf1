"""Fully connected layer."""

from __future__ import annotations

import numpy as np

from enc2dec.nn import init
from enc2dec.nn.checks import check_last_dim
from enc2dec.nn.module import Module
from enc2dec.nn.parameter import Parameter


class Linear(Module):
    """y = x @ weight + bias; x: (..., n_in) -> y: (..., n_out). weight is (n_in, n_out): no transpose."""

    def __init__(self, n_in: int, n_out: int, *, rng: np.random.Generator, bias: bool = True):
        super().__init__()
        self.weight = Parameter(init.xavier_uniform((n_in, n_out), rng))
        self.bias = Parameter(init.zeros((n_out,))) if bias else None

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_last_dim(self, "x", x, self.weight.shape[0], self.weight.dtype)
        self._cache = x
        return self.apply(x)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """The output for x: (..., n_in) -> (..., n_out), unchecked and caching nothing (decoding steps)."""
        # one 2-D product: numpy runs a stacked (B, T, n_in) @ (n_in, n_out) as B small ones, 2-10x slower
        y = (x.reshape(-1, x.shape[-1]) @ self.weight.value).reshape(*x.shape[:-1], -1)  # (..., n_out)
        if self.bias is not None:
            y += self.bias.value
        return y

    @property
    def n_out(self) -> int:
        return self.weight.shape[1]

    def columns(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The weight (n_in, C) and bias (C,) (None without one) of the outputs `ids` (C,): a restricted copy."""
        return np.ascontiguousarray(self.weight.value[:, ids]), None if self.bias is None else self.bias.value[ids]

    def backward(self, dy: np.ndarray) -> np.ndarray:
        # y = x W + b  =>  dW = x^T dy,  db = sum_N dy,  dx = dy W^T
        x = self.pop_cache()
        x2 = x.reshape(-1, x.shape[-1])  # (N, n_in), N = prod(...)
        dy2 = dy.reshape(-1, dy.shape[-1])  # (N, n_out)
        self.weight.grad += x2.T @ dy2
        if self.bias is not None:
            self.bias.grad += dy2.sum(axis=0)
        return (dy2 @ self.weight.value.T).reshape(x.shape)  # (..., n_in)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]} -> {self.weight.shape[1]}"
