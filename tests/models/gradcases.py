"""Gradient-check cases for the models (collected by tests/gradcases.py)."""

from __future__ import annotations

import numpy as np

from enc2dec.layers import Linear, Sequential, Sigmoid
from enc2dec.models.dense import DenseConfig, EncoderDecoder
from enc2dec.nn.gradcheck import Objective
from tests.helpers import randn


def worked_example(rng: np.random.Generator) -> EncoderDecoder:
    """Input 3 -> sigmoid context 2 -> sigmoid output 3."""
    encoder = Sequential(Linear(3, 2, rng=rng), Sigmoid())
    decoder = Sequential(Linear(2, 3, rng=rng), Sigmoid())
    return EncoderDecoder(encoder, decoder)


CASES = {
    "encoder_decoder_worked_example": lambda rng: (worked_example(rng), [randn(rng, 4, 3)]),
    "encoder_decoder_deep": lambda rng: (
        EncoderDecoder.from_config(DenseConfig(input_size=5, context_size=2, hidden_sizes=(4, 3)), rng=rng),
        [randn(rng, 2, 5)],
    ),
    # The whole training objective (forward, loss, backward_loss), checked end to end.
    "encoder_decoder_bce_objective": lambda rng: (
        Objective(
            EncoderDecoder.from_config(
                DenseConfig(input_size=4, context_size=3, hidden_sizes=(5,), loss="bce"), rng=rng
            )
        ),
        [randn(rng, 3, 4), rng.uniform(0, 1, (3, 4)).astype(np.float32)],
    ),
}
