"""A trainable array and its gradient."""

from __future__ import annotations

import numpy as np


class Parameter:
    """`value` and `grad` of one weight tensor. Backward passes add into `grad`; optimizers update `value`."""

    __slots__ = ("value", "grad")

    def __init__(self, value: np.ndarray):
        self.value = np.asarray(value)
        if not np.issubdtype(self.value.dtype, np.floating):
            raise TypeError(f"Parameter: value must be a float array, got dtype {self.value.dtype}")
        self.grad = np.zeros_like(self.value)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def dtype(self) -> np.dtype:
        return self.value.dtype

    @property
    def size(self) -> int:
        return self.value.size

    def __repr__(self) -> str:
        return f"Parameter(shape={self.value.shape}, dtype={self.value.dtype})"
