"""Optimizers, gradient clipping and learning-rate schedules."""

from enc2dec.optim.adam import Adam, AdamW
from enc2dec.optim.clip import clip_grad_norm
from enc2dec.optim.optimizer import Optimizer
from enc2dec.optim.schedules import Constant, Cosine, StepDecay, WarmupInverseSqrt
from enc2dec.optim.sgd import SGD

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "Constant",
    "Cosine",
    "Optimizer",
    "StepDecay",
    "WarmupInverseSqrt",
    "clip_grad_norm",
]
