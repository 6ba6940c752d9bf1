"""Losses on logits (never probabilities) with fused backward passes.

Each `forward(prediction, target)` returns a 0-d array in the prediction's dtype; `backward(dy=1.0)` returns the
gradient with respect to the prediction (for GaussianKL and GaussianNLL, with respect to both mu and logvar).
Targets get no gradient.
Reductions: "mean" over all elements (over non-ignored tokens for CrossEntropy), "sum", and "batchmean": the sum
divided by the size of axis 0 (per-example sums averaged over the batch, the VAE convention).
"""

from __future__ import annotations

import math

import numpy as np

from enc2dec.nn import functional, parallel
from enc2dec.nn.checks import check_float, check_int
from enc2dec.nn.module import Module

REDUCTIONS = ("mean", "sum", "batchmean")


def _check_reduction(owner: str, reduction: str, allowed: tuple[str, ...] = REDUCTIONS) -> str:
    if reduction not in allowed:
        raise ValueError(f"{owner}: reduction must be one of {allowed}, got {reduction!r}")
    return reduction


def _divisor(reduction: str, x: np.ndarray) -> int:
    return {"mean": x.size, "sum": 1, "batchmean": x.shape[0] if x.ndim else 1}[reduction]


def _check_pair(owner: Module, prediction: np.ndarray, target: np.ndarray) -> None:
    check_float(owner, "prediction", prediction)
    if np.shape(target) != prediction.shape:
        raise ValueError(
            f"{owner!r}: target must have the prediction's shape {prediction.shape}, got {np.shape(target)}"
        )


class MSE(Module):
    """sum((prediction - target)^2) / divisor."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = _check_reduction("MSE", reduction)

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> np.ndarray:
        _check_pair(self, prediction, target)
        diff = prediction - target.astype(prediction.dtype, copy=False)
        n = _divisor(self.reduction, prediction)
        self._cache = (diff, n)
        return np.asarray(np.sum(diff * diff) / n, dtype=prediction.dtype)

    def backward(self, dy: float | np.ndarray = 1.0) -> np.ndarray:
        diff, n = self.pop_cache()
        return diff * (2.0 * float(dy) / n)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class BCEWithLogits(Module):
    """Binary cross-entropy of sigmoid(logits) against targets in [0, 1]: max(z, 0) - z t + log(1 + e^-|z|)."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = _check_reduction("BCEWithLogits", reduction)

    def forward(self, logits: np.ndarray, target: np.ndarray) -> np.ndarray:
        _check_pair(self, logits, target)
        target = target.astype(logits.dtype, copy=False)
        n = _divisor(self.reduction, logits)
        self._cache = (logits, target, n)
        # log(1 + e^-|z|) with np.log, not np.log1p: numpy's float32 log1p is scalar code, 8x slower than its
        # vectorised log, and 1 + e^-|z| lies in (1, 2], where log loses at most half an ulp of 1
        loss = np.abs(logits)  # (N, P), one buffer reused below
        np.negative(loss, out=loss)
        np.exp(loss, out=loss)
        loss += 1.0
        np.log(loss, out=loss)
        loss += np.maximum(logits, 0)
        loss -= logits * target
        return np.asarray(loss.sum() / n, dtype=logits.dtype)

    def backward(self, dy: float | np.ndarray = 1.0) -> np.ndarray:
        # d/dz = sigmoid(z) - t
        logits, target, n = self.pop_cache()
        d = functional.sigmoid(logits)
        d -= target
        d *= float(dy) / n
        return d

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class CrossEntropy(Module):
    """Softmax cross-entropy over the last axis; logits: (..., V), target: (...) int.

    Label smoothing (Szegedy et al. 2016) as in PyTorch: the target distribution is (1 - s) one-hot + s / V, so
    loss = -(1 - s) log p_t - (s / V) sum_v log p_v, using row sums of log p, never a dense (N, V) target.
    Positions whose target is `ignore_index` add nothing; "mean" divides by the number of the others.
    """

    def __init__(self, ignore_index: int | None = None, smoothing: float = 0.0, reduction: str = "mean"):
        super().__init__()
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"CrossEntropy: smoothing must be in [0, 1), got {smoothing}")
        self.ignore_index = ignore_index
        self.smoothing = smoothing
        self.reduction = _check_reduction("CrossEntropy", reduction, ("mean", "sum"))

    def forward(self, logits: np.ndarray, target: np.ndarray) -> np.ndarray:
        check_float(self, "logits", logits)
        check_int(self, "target", target)
        if target.shape != logits.shape[:-1]:
            raise ValueError(
                f"{self!r}: target must have shape {logits.shape[:-1]} for logits {logits.shape}, got {target.shape}"
            )
        vocab_size = logits.shape[-1]
        z = logits.reshape(-1, vocab_size)  # (N, V)
        t = target.reshape(-1)  # (N,)
        keep = np.ones(t.shape, dtype=bool) if self.ignore_index is None else t != self.ignore_index
        t_safe = np.where(keep, t, 0)
        if t_safe.size and (t_safe.min() < 0 or t_safe.max() >= vocab_size):
            raise ValueError(f"{self!r}: target ids must be in [0, {vocab_size}), got [{t_safe.min()}, {t_safe.max()}]")
        # One (N, V) buffer, four passes (max, shift, exp, sum); log p = shifted - log(row_sum) is never stored.
        # Row blocks on threads (enc2dec.nn.parallel): every quantity is per row, so the result is the same.
        s = self.smoothing
        exp = np.empty_like(z)  # (N, V), the unnormalised softmax, kept for backward
        per_row = np.empty(t.size, dtype=z.dtype)  # (N,)
        row_sum = np.empty(t.size, dtype=z.dtype)  # (N,)

        def rows_forward(rows: slice) -> None:
            zr, shifted, tr = z[rows], exp[rows], t_safe[rows]
            np.subtract(zr, zr.max(axis=1, keepdims=True), out=shifted)  # max 0: exp cannot overflow
            per_row[rows] = -(1.0 - s) * shifted[np.arange(tr.size), tr]
            if s:
                per_row[rows] -= (s / vocab_size) * shifted.sum(axis=1)
            np.exp(shifted, out=shifted)
            row_sum[rows] = shifted.sum(axis=1)

        parallel.over_rows(rows_forward, t.size, z.size)
        per_row += np.log(row_sum)  # sum_v q_v = 1, so each row gains log(row_sum) once
        n = max(int(keep.sum()), 1) if self.reduction == "mean" else 1
        self._cache = (exp, row_sum, t_safe, keep, n, logits.shape)
        return np.asarray(per_row[keep].sum() / n, dtype=logits.dtype)

    def backward(self, dy: float | np.ndarray = 1.0) -> np.ndarray:
        # d/dz = w (softmax(z) - q), q = (1 - s) one-hot + s / V, w = dy / n per kept row and 0 per ignored row
        exp, row_sum, t, keep, n, shape = self.pop_cache()
        w = keep * (float(dy) / n)  # (N,)
        scale = (w / row_sum).astype(exp.dtype)[:, None]  # (N, 1)
        hit = ((1.0 - self.smoothing) * w).astype(exp.dtype)  # (N,)
        flat = ((self.smoothing / shape[-1]) * w).astype(exp.dtype)[:, None]  # (N, 1)

        def rows_backward(rows: slice) -> None:
            d = exp[rows]  # reuses the cache's memory
            d *= scale[rows]
            d[np.arange(d.shape[0]), t[rows]] -= hit[rows]
            if self.smoothing:
                d -= flat[rows]

        parallel.over_rows(rows_backward, t.size, exp.size)
        return exp.reshape(shape)

    def extra_repr(self) -> str:
        return f"ignore_index={self.ignore_index}, smoothing={self.smoothing}, reduction={self.reduction!r}"


class GaussianKL(Module):
    """KL(N(mu, exp(logvar)) || N(0, I)) = -1/2 sum(1 + logvar - mu^2 - exp(logvar)); mu, logvar: (B, C)."""

    def __init__(self, reduction: str = "batchmean"):
        super().__init__()
        self.reduction = _check_reduction("GaussianKL", reduction)

    def forward(self, mu: np.ndarray, logvar: np.ndarray) -> np.ndarray:
        _check_pair(self, mu, logvar)
        var = np.exp(logvar)
        n = _divisor(self.reduction, mu)
        self._cache = (mu, var, n)
        return np.asarray(-0.5 * np.sum(1.0 + logvar - mu * mu - var) / n, dtype=mu.dtype)

    def backward(self, dy: float | np.ndarray = 1.0) -> tuple[np.ndarray, np.ndarray]:
        # dKL/dmu = mu,  dKL/dlogvar = (exp(logvar) - 1) / 2
        mu, var, n = self.pop_cache()
        scale = float(dy) / n
        return mu * scale, (var - 1.0) * (0.5 * scale)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class GaussianNLL(Module):
    """Negative log-likelihood of target under N(mu, exp(logvar)), elementwise:
    1/2 (log(2 pi) + logvar + (target - mu)^2 exp(-logvar)); mu, logvar, target: the same shape (...).

    The log-variance parameterisation keeps the variance positive without a constraint (Nix & Weigend 1994;
    DeepAR's Gaussian head, Salinas et al. 2020, uses a softplus instead)."""

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = _check_reduction("GaussianNLL", reduction)

    def forward(self, mu: np.ndarray, logvar: np.ndarray, target: np.ndarray) -> np.ndarray:
        _check_pair(self, mu, logvar)
        _check_pair(self, mu, target)
        diff = mu - target.astype(mu.dtype, copy=False)
        inv_var = np.exp(-logvar)
        n = _divisor(self.reduction, mu)
        self._cache = (diff, inv_var, n)
        total = np.sum(logvar) + np.sum(diff * diff * inv_var) + mu.size * math.log(2.0 * math.pi)
        return np.asarray(0.5 * total / n, dtype=mu.dtype)

    def backward(self, dy: float | np.ndarray = 1.0) -> tuple[np.ndarray, np.ndarray]:
        # d/dmu = (mu - t) / var,  d/dlogvar = (1 - (mu - t)^2 / var) / 2
        diff, inv_var, n = self.pop_cache()
        scale = float(dy) / n
        d_mu = diff * inv_var  # (...)
        d_logvar = 0.5 - 0.5 * diff * d_mu
        return d_mu * scale, d_logvar * scale

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"
