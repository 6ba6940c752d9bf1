"""A chain of single-input layers."""

from __future__ import annotations

import numpy as np

from enc2dec.nn.module import Module


class Sequential(Module):
    """y = layers[-1](...layers[0](x)); backward runs the chain in reverse."""

    def __init__(self, *layers: Module):
        super().__init__()
        self.layers = list(layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def apply(self, x: np.ndarray) -> np.ndarray:
        """The chain's output in evaluation mode, caching nothing (decoding steps): each layer's apply."""
        for layer in self.layers:
            x = layer.apply(x)
        return x

    def backward(self, dy: np.ndarray) -> np.ndarray:
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def extra_repr(self) -> str:
        return ", ".join(repr(layer) for layer in self.layers)
