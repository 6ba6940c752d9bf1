"""Initializers. Each takes a shape and a np.random.Generator and returns a new float32 array."""

from __future__ import annotations

import math

import numpy as np

DTYPE = np.float32


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) for weights stored as (n_in, n_out), or (n_in, n_out, ...) for stacked blocks."""
    if len(shape) < 2:
        return shape[0], shape[0]
    return shape[0], shape[1]


def uniform(shape: tuple[int, ...], a: float, rng: np.random.Generator) -> np.ndarray:
    """U(-a, a); Sutskever et al. (2014) use a = 0.08 for every parameter."""
    return rng.uniform(-a, a, size=shape).astype(DTYPE)


def xavier_uniform(shape: tuple[int, ...], rng: np.random.Generator, gain: float = 1.0) -> np.ndarray:
    """Glorot & Bengio (2010): U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(shape)
    return uniform(shape, gain * math.sqrt(6.0 / (fan_in + fan_out)), rng)


def he_normal(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """He et al. (2015): N(0, 2 / fan_in), for ReLU layers."""
    fan_in, _ = _fans(shape)
    return (rng.standard_normal(shape, dtype=DTYPE) * math.sqrt(2.0 / fan_in)).astype(DTYPE)


def he_uniform(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    fan_in, _ = _fans(shape)
    return uniform(shape, math.sqrt(6.0 / fan_in), rng)


def normal(shape: tuple[int, ...], std: float, rng: np.random.Generator) -> np.ndarray:
    return (rng.standard_normal(shape, dtype=DTYPE) * std).astype(DTYPE)


def orthogonal(shape: tuple[int, int], rng: np.random.Generator, gain: float = 1.0) -> np.ndarray:
    """Saxe et al. (2014): a (semi-)orthogonal matrix from the QR decomposition of a Gaussian one."""
    rows, cols = shape
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))  # makes the decomposition unique, so the draw is uniform
    if rows < cols:
        q = q.T
    return (gain * q[:rows, :cols]).astype(DTYPE)


def zeros(shape: tuple[int, ...]) -> np.ndarray:
    return np.zeros(shape, dtype=DTYPE)
