"""Elementwise activations and the normalising softmax / log-softmax, each with its exact derivative."""

from __future__ import annotations

import numpy as np

from enc2dec.nn import functional
from enc2dec.nn.checks import check_float
from enc2dec.nn.module import Module


class Sigmoid(Module):
    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float(self, "x", x)
        y = functional.sigmoid(x)
        self._cache = y
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        # y = s(x)  =>  dx = dy * y * (1 - y)
        y = self.pop_cache()
        return dy * y * (1.0 - y)


class Tanh(Module):
    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float(self, "x", x)
        y = np.tanh(x)
        self._cache = y
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        # y = tanh(x)  =>  dx = dy * (1 - y^2)
        y = self.pop_cache()
        return dy * (1.0 - y * y)


class ReLU(Module):
    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float(self, "x", x)
        positive = x > 0
        self._cache = positive
        return x * positive

    def apply(self, x: np.ndarray) -> np.ndarray:
        """forward's output, caching nothing (decoding steps)."""
        return np.maximum(x, 0.0)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy * self.pop_cache()


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float(self, "x", x)
        positive = x > 0
        self._cache = positive
        return np.where(positive, x, x * self.negative_slope)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        positive = self.pop_cache()
        return np.where(positive, dy, dy * self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class GELU(Module):
    """GELU, tanh approximation (PyTorch's approximate='tanh')."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float(self, "x", x)
        self._cache = x
        return functional.gelu(x)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """forward's output, caching nothing (decoding steps)."""
        return functional.gelu(x)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy * functional.gelu_grad(self.pop_cache())


class Softmax(Module):
    def __init__(self, axis: int = -1):
        super().__init__()
        self.axis = axis

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float(self, "x", x)
        y = functional.softmax(x, self.axis)
        self._cache = y
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        # dx = y * (dy - sum(dy * y)): the full Jacobian-vector product, not its diagonal
        y = self.pop_cache()
        return y * (dy - np.sum(dy * y, axis=self.axis, keepdims=True))


class LogSoftmax(Module):
    def __init__(self, axis: int = -1):
        super().__init__()
        self.axis = axis

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float(self, "x", x)
        y = functional.log_softmax(x, self.axis)
        self._cache = y
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        # y = x - logsumexp(x)  =>  dx = dy - softmax(x) * sum(dy)
        y = self.pop_cache()
        return dy - np.exp(y) * np.sum(dy, axis=self.axis, keepdims=True)


ACTIVATIONS: dict[str, type[Module]] = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "gelu": GELU,
}


def activation(name: str) -> Module:
    """A new activation layer by name (config files name activations this way)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()
