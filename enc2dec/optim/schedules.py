"""Learning-rate schedules: callables from the step number (1, 2, ...) to a learning rate."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Constant:
    lr: float

    def __call__(self, step: int) -> float:
        return self.lr


@dataclass(frozen=True)
class StepDecay:
    """lr until `start`, then multiplied by `factor` every `every` steps. Sutskever et al. (2014): lr 0.7 for
    5 epochs, then halved every half epoch (start = 5 epochs, every = half an epoch, factor 0.5)."""

    lr: float
    start: int
    every: int
    factor: float = 0.5

    def __post_init__(self) -> None:
        if self.every <= 0:
            raise ValueError(f"StepDecay: every must be a positive number of steps, got {self.every}")

    def __call__(self, step: int) -> float:
        if step <= self.start:
            return self.lr
        return self.lr * self.factor ** ((step - self.start - 1) // self.every + 1)


@dataclass(frozen=True)
class WarmupInverseSqrt:
    """Vaswani et al. (2017) eq. 3 with the model_size^-0.5 folded into `peak_lr`: linear warm-up over `warmup`
    steps to peak_lr, then peak_lr * sqrt(warmup / step)."""

    peak_lr: float
    warmup: int

    def __call__(self, step: int) -> float:
        step = max(step, 1)
        return self.peak_lr * min(step / self.warmup, math.sqrt(self.warmup / step))


@dataclass(frozen=True)
class Cosine:
    """Linear warm-up, then a half cosine from lr down to min_lr at total_steps."""

    lr: float
    total_steps: int
    warmup: int = 0
    min_lr: float = 0.0

    def __call__(self, step: int) -> float:
        if step <= self.warmup:
            return self.lr * step / max(self.warmup, 1)
        progress = min((step - self.warmup) / max(self.total_steps - self.warmup, 1), 1.0)
        return self.min_lr + 0.5 * (self.lr - self.min_lr) * (1.0 + math.cos(math.pi * progress))
