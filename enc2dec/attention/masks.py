"""Padding masks, packing, and the one masked softmax that every attention shares (additive, multiplicative,
multi-head).

A mask is boolean and True where attention may look (a real source position); it broadcasts against the scores'
leading axes, e.g. (B, 1, S) or (B, 1, 1, S) for scores (B, T, S) or (B, nh, T, S). Masked positions get weight
exactly 0, never a large negative number's exp(-1e9) leftovers, and so their scores get gradient exactly 0 too.
A row with no allowed position (never the case for sources of length >= 1) gets all-zero weights, not NaN.
"""

from __future__ import annotations

import numpy as np

from enc2dec.nn import functional


def padding_mask(lengths: np.ndarray, S: int) -> np.ndarray:
    """lengths: (B,) int, each in [0, S] -> mask: (B, S) bool, True at the real positions s < lengths[b]."""
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(f"padding_mask: lengths must be a (B,) integer array, got {lengths.dtype} {lengths.shape}")
    if lengths.size and (lengths.min() < 0 or lengths.max() > S):
        raise ValueError(f"padding_mask: lengths must lie in [0, S={S}], got [{lengths.min()}, {lengths.max()}]")
    return np.arange(S)[None, :] < lengths[:, None]  # (B, S)


class Packing:
    """The real positions of a right-padded batch (B, T): layers that treat each position alone (Linear, LayerNorm,
    the FFN, residuals) run on the N real rows packed, (N, C), in batch-major order; attention pads them back to
    (B, T, C) for its batched products. So padding costs nothing outside attention's score matrices.

    rows: (N,) int64 flat indices into B * T, or None when every position is real (pack and pad are reshapes)."""

    def __init__(self, lengths: np.ndarray, T: int):
        real = padding_mask(lengths, T)  # (B, T)
        self.batch, self.length = real.shape
        self.rows = None if real.all() else np.flatnonzero(real)
        self.n = real.size if self.rows is None else len(self.rows)

    def pack(self, x: np.ndarray) -> np.ndarray:
        """x: (B, T, ...) -> (N, ...), the real positions."""
        flat = x.reshape(self.batch * self.length, *x.shape[2:])
        return flat if self.rows is None else flat[self.rows]

    def pad(self, x: np.ndarray) -> np.ndarray:
        """x: (N, ...) -> (B, T, ...), zeros at the padded positions."""
        if self.rows is None:
            return x.reshape(self.batch, self.length, *x.shape[1:])
        out = np.zeros((self.batch * self.length, *x.shape[1:]), dtype=x.dtype)
        out[self.rows] = x
        return out.reshape(self.batch, self.length, *x.shape[1:])

    def __repr__(self) -> str:
        return f"Packing({self.n} of {self.batch} x {self.length} positions)"


def pack(x: np.ndarray, packing: Packing | None) -> np.ndarray:
    """(B, T, ...) -> (N, ...) with a packing; unchanged without one."""
    return x if packing is None else packing.pack(x)


def pad(x: np.ndarray, packing: Packing | None) -> np.ndarray:
    """(N, ...) -> (B, T, ...) with a packing; unchanged without one."""
    return x if packing is None else packing.pad(x)


def masked_softmax(scores: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Softmax over the last axis where mask is True. scores: (..., S) float, mask: bool broadcastable to scores,
    or None (no mask) -> weights: (..., S) in scores' dtype, rows summing to 1 over the allowed positions."""
    if mask is None:
        return functional.softmax(scores, axis=-1)
    w = np.where(mask, scores, -np.inf).astype(scores.dtype, copy=False)  # -inf keeps float32
    m = w.max(axis=-1, keepdims=True)
    m[~np.isfinite(m)] = 0  # a fully masked row: exp(-inf - 0) = 0 below
    w -= m
    np.exp(w, out=w)  # exactly 0 at masked positions
    total = w.sum(axis=-1, keepdims=True)
    total[total == 0] = 1
    w /= total
    return w


def softmax_backward(weights: np.ndarray, d_weights: np.ndarray) -> np.ndarray:
    """weights: (..., S) from masked_softmax, d_weights: (..., S) -> d_scores: (..., S).

    w = softmax(s) over the allowed set  =>  ds = w * (dw - sum(w * dw)); zero wherever w is zero (masked)."""
    d_scores = d_weights * weights
    d_scores -= weights * d_scores.sum(axis=-1, keepdims=True)
    return d_scores


def causal_mask(T: int) -> np.ndarray:
    """T: target length -> mask: (T, T) bool, True where key s <= query t (a position sees itself and the past)."""
    return np.tri(T, dtype=bool)  # (T, T); dtype=bool: np.tri defaults to float64
