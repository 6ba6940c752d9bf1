"""Small shared test helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def randn(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def away_from_zero(rng: np.random.Generator, *shape: int, margin: float = 0.1) -> np.ndarray:
    """Random values with |x| >= margin: keeps finite differences off the kink of ReLU-like functions."""
    x = randn(rng, *shape)
    return (np.sign(x) * (np.abs(x) + margin)).astype(np.float32)
