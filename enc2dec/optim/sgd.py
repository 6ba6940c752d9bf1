"""Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay (PyTorch's formulation)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from enc2dec.nn.parameter import Parameter
from enc2dec.optim.optimizer import Optimizer


class SGD(Optimizer):
    """g = grad + wd p;  v = mu v + g;  p -= lr (g + mu v if nesterov else v); plain SGD when mu = 0."""

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ):
        if nesterov and momentum <= 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0")
        self.state_names = ("velocity",) if momentum else ()
        super().__init__(params, lr)
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay

    def _update(self, i: int, p: Parameter) -> None:
        g = p.grad + self.weight_decay * p.value if self.weight_decay else p.grad
        if self.momentum:
            v = self.state["velocity"][i]
            v *= self.momentum
            v += g
            g = g + self.momentum * v if self.nesterov else v
        p.value -= np.asarray(self.lr, dtype=p.dtype) * g
