"""The gradient-check registry: every Module subclass in enc2dec has at least one case here or in a
`gradcases.py` beside its tests (tests/<package>/gradcases.py), collected by `all_cases()`.

A case is name -> (rng -> (module, inputs[, forward])), `forward(module, *inputs)` replacing module.forward where the
checked function needs more than the module (see gradcheck's `forward`); shapes tiny and unequal (B=2, T=3, E=5, H=4), plus B=1 or T=1.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from enc2dec.layers import (
    GELU,
    Dropout,
    Embedding,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    TiedOutput,
)
from enc2dec.losses import MSE, BCEWithLogits, CrossEntropy, GaussianKL, GaussianNLL
from tests.helpers import away_from_zero, randn

Case = Callable[[np.random.Generator], tuple]


CASES: dict[str, Case] = {
    "linear": lambda rng: (Linear(3, 4, rng=rng), [randn(rng, 2, 5, 3)]),
    "linear_b1": lambda rng: (Linear(5, 2, rng=rng), [randn(rng, 1, 5)]),
    "linear_no_bias": lambda rng: (Linear(3, 2, rng=rng, bias=False), [randn(rng, 4, 3)]),
    "embedding": lambda rng: (Embedding(7, 5, rng=rng), [rng.integers(0, 7, (2, 3))]),
    # The padding row gets no gradient by design, so the checked function zeroes the padding positions.
    "embedding_padding": lambda rng: (
        Embedding(7, 5, rng=rng, padding_idx=0),
        [np.array([[0, 3, 3], [1, 0, 6]])],
        lambda m, ids: m.forward(ids) * (ids != 0)[..., None],
    ),
    "tied_output": lambda rng: (TiedOutput(Embedding(7, 5, rng=rng)), [randn(rng, 2, 3, 5)]),
    "dropout_train": lambda rng: (Dropout(0.3, rng=rng).train(), [randn(rng, 2, 3, 4)]),
    "dropout_eval": lambda rng: (Dropout(0.3, rng=rng).eval(), [randn(rng, 2, 3, 4)]),
    "layer_norm": lambda rng: (_randomized(LayerNorm(5), rng), [randn(rng, 2, 3, 5)]),
    "layer_norm_b1": lambda rng: (_randomized(LayerNorm(4), rng), [randn(rng, 1, 4)]),
    "sequential": lambda rng: (
        Sequential(Linear(3, 4, rng=rng), Tanh(), Linear(4, 2, rng=rng), Sigmoid()),
        [randn(rng, 5, 3)],
    ),
    "sigmoid": lambda rng: (Sigmoid(), [randn(rng, 2, 3, 4)]),
    "tanh": lambda rng: (Tanh(), [randn(rng, 2, 3, 4)]),
    "relu": lambda rng: (ReLU(), [away_from_zero(rng, 2, 3, 4)]),
    "leaky_relu": lambda rng: (LeakyReLU(0.1), [away_from_zero(rng, 2, 3, 4)]),
    "gelu": lambda rng: (GELU(), [randn(rng, 2, 3, 4)]),
    "softmax": lambda rng: (Softmax(), [randn(rng, 2, 3, 5)]),
    "softmax_axis0": lambda rng: (Softmax(axis=0), [randn(rng, 3, 4)]),
    "log_softmax": lambda rng: (LogSoftmax(), [randn(rng, 2, 3, 5)]),
    "mse": lambda rng: (MSE(), [randn(rng, 2, 3), randn(rng, 2, 3)]),
    "mse_sum": lambda rng: (MSE("sum"), [randn(rng, 4, 3), randn(rng, 4, 3)]),
    "bce_logits": lambda rng: (BCEWithLogits(), [randn(rng, 3, 4), rng.uniform(0, 1, (3, 4)).astype(np.float32)]),
    "bce_logits_batchmean": lambda rng: (
        BCEWithLogits("batchmean"),
        [randn(rng, 2, 5), (rng.uniform(size=(2, 5)) > 0.5).astype(np.float32)],
    ),
    "xent": lambda rng: (CrossEntropy(), [randn(rng, 6, 7), rng.integers(0, 7, 6)]),
    "xent_3d_sum": lambda rng: (CrossEntropy(reduction="sum"), [randn(rng, 2, 3, 7), rng.integers(0, 7, (2, 3))]),
    "xent_ignore": lambda rng: (CrossEntropy(ignore_index=0), [randn(rng, 6, 7), np.array([0, 3, 0, 6, 1, 2])]),
    "xent_smooth": lambda rng: (
        CrossEntropy(ignore_index=0, smoothing=0.1),
        [randn(rng, 6, 7), np.array([0, 3, 5, 6, 1, 0])],
    ),
    "gaussian_kl": lambda rng: (GaussianKL(), [randn(rng, 3, 2), randn(rng, 3, 2)]),
    "gaussian_kl_mean": lambda rng: (GaussianKL("mean"), [randn(rng, 2, 4), randn(rng, 2, 4)]),
    "gaussian_nll": lambda rng: (GaussianNLL(), [randn(rng, 2, 3), randn(rng, 2, 3), randn(rng, 2, 3)]),
    "gaussian_nll_sum_1d": lambda rng: (GaussianNLL("sum"), [randn(rng, 4), randn(rng, 4), randn(rng, 4)]),
}


def _randomized(module, rng):
    """Parameters that start at 1 and 0 (LayerNorm) would hide errors; draw them at random."""
    for p in module.parameters():
        p.value = randn(rng, *p.shape)
        p.grad = np.zeros_like(p.value)
    return module


def all_cases() -> dict[str, Case]:
    """CASES plus those of every tests/<package>/gradcases.py."""
    cases = dict(CASES)
    for path in sorted(Path(__file__).parent.glob("*/gradcases.py")):
        module = importlib.import_module(f"tests.{path.parent.name}.gradcases")
        overlap = set(cases) & set(module.CASES)
        if overlap:
            raise ValueError(f"{path}: gradcheck case names already used: {sorted(overlap)}")
        cases.update(module.CASES)
    return cases
