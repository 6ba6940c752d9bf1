"""Numerically stable elementwise and normalising functions, dtype-preserving (float32 in, float32 out)."""

from __future__ import annotations

import math

import numpy as np

from enc2dec.nn import parallel

_GELU_C = math.sqrt(2.0 / math.pi)


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow: written as (1 + tanh(x / 2)) / 2, exact and stable for any |x|."""
    out = np.multiply(x, 0.5, out=out)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(x - max) / sum: safe for inputs of magnitude 1e4."""
    y = x - x.max(axis=axis, keepdims=True)
    np.exp(y, out=y)
    y /= y.sum(axis=axis, keepdims=True)
    return y


def log_softmax(x: np.ndarray, axis: int = -1, out: np.ndarray | None = None) -> np.ndarray:
    """x - logsumexp(x), shifted by the max so nothing overflows. out=x overwrites x (decoding's fresh logits)
    instead of allocating another array of x's size. A 2-D x over its last axis runs in row blocks on threads
    (enc2dec.nn.parallel; identical results)."""
    if x.ndim == 2 and axis in (-1, 1):
        y = np.empty_like(x) if out is None else out
        parallel.over_rows(lambda r: _log_softmax(x[r], axis, y[r]), len(x), x.size)
        return y
    return _log_softmax(x, axis, out)


def _log_softmax(x: np.ndarray, axis: int, out: np.ndarray | None) -> np.ndarray:
    y = np.subtract(x, x.max(axis=axis, keepdims=True), out=out)
    y -= np.log(np.exp(y).sum(axis=axis, keepdims=True))
    return y


def logsumexp(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log(sum(exp(x))) along axis, shifted by the maximum; -inf where every value is -inf."""
    m = x.max(axis=axis, keepdims=True)
    m[np.isneginf(m)] = 0  # all -inf: exp gives 0 and the log -inf, not nan
    with np.errstate(divide="ignore"):
        return (m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))).squeeze(axis)


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh approximation (Hendrycks & Gimpel 2016; PyTorch's approximate='tanh')."""
    return 0.5 * x * (1.0 + np.tanh(_GELU_C * (x + 0.044715 * x**3)))


def gelu_grad(x: np.ndarray) -> np.ndarray:
    """d gelu / dx for the tanh approximation."""
    t = np.tanh(_GELU_C * (x + 0.044715 * x**3))
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _GELU_C * (1.0 + 3 * 0.044715 * x * x)
