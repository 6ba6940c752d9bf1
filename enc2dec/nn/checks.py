"""Input checks that name the layer, the argument, and what was expected versus given."""

from __future__ import annotations

from typing import Any

import numpy as np


def check_float(owner: Any, name: str, x: Any, dtype: np.dtype | None = None) -> None:
    """x must be a float ndarray (of `dtype` when given: layers compute in their parameters' dtype)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{owner!r}: {name} must be a numpy array, got {type(x).__name__}")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{owner!r}: {name} must be a float array, got dtype {x.dtype}")
    if dtype is not None and x.dtype != dtype:
        raise TypeError(f"{owner!r}: {name} must have dtype {np.dtype(dtype)} like the parameters, got {x.dtype}")


def check_int(owner: Any, name: str, x: Any) -> None:
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.integer):
        got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"{owner!r}: {name} must be an integer array, got {got}")


def check_last_dim(owner: Any, name: str, x: Any, size: int, dtype: np.dtype | None = None) -> None:
    """x: (..., size) float array."""
    check_float(owner, name, x, dtype)
    if x.ndim == 0 or x.shape[-1] != size:
        raise ValueError(f"{owner!r}: {name} must have shape (..., {size}), got {x.shape}")


def check_ndim(owner: Any, name: str, x: np.ndarray, ndim: int, layout: str) -> None:
    if x.ndim != ndim:
        raise ValueError(f"{owner!r}: {name} must have shape {layout}, got {x.shape}")
