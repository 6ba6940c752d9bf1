"""Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), updated in place."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from enc2dec.nn.parameter import Parameter
from enc2dec.optim.optimizer import Optimizer


class Adam(Optimizer):
    """m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p -= lr m_hat / (sqrt(v_hat) + eps).

    weight_decay adds wd p to the gradient (L2, Adam) or, with decoupled=True, shrinks p by lr wd p (AdamW).
    """

    state_names = ("m", "v")

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled: bool = False,
    ):
        super().__init__(params, lr)
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.decoupled = decoupled
        self._scratch = [np.empty_like(p.value) for p in self.params]

    def _update(self, i: int, p: Parameter) -> None:
        b1, b2 = self.betas
        g = p.grad
        if self.weight_decay and not self.decoupled:
            g = g + self.weight_decay * p.value
        if self.weight_decay and self.decoupled:
            p.value *= 1.0 - self.lr * self.weight_decay
        m, v, s = self.state["m"][i], self.state["v"][i], self._scratch[i]
        m *= b1
        np.multiply(g, 1.0 - b1, out=s)
        m += s
        v *= b2
        np.multiply(g, g, out=s)
        s *= 1.0 - b2
        v += s
        t = self.n_steps
        step_size = self.lr * math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
        np.sqrt(v, out=s)
        s += self.eps * math.sqrt(1.0 - b2**t)  # eps added to sqrt(v_hat), rescaled into this form
        np.divide(m, s, out=s)
        s *= step_size
        p.value -= s


class AdamW(Adam):
    """Adam with decoupled weight decay."""

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ):
        super().__init__(params, lr, betas, eps, weight_decay, decoupled=True)
