"""Global-norm gradient clipping (Pascanu et al. 2013; Sutskever et al. 2014 clip at 5)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from enc2dec.nn.parameter import Parameter


def clip_grad_norm(params: Iterable[Parameter], max_norm: float) -> float:
    """Scale all gradients by min(1, max_norm / norm) in place; return the norm before clipping."""
    params = list(params)
    norm = math.sqrt(sum(float(np.vdot(p.grad, p.grad)) for p in params))
    if norm > max_norm > 0:
        scale = max_norm / (norm + 1e-6)
        for p in params:
            p.grad *= scale
    return norm
