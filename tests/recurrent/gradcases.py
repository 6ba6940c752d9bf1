"""Gradcheck cases of enc2dec.recurrent (collected by tests/gradcases.py:all_cases()).

Shapes tiny and unequal: T=3, B=2, E=5, H=4, plus T=1 and B=1. `lengths` (3, 1) pads the second sequence, so the
carried state and the zero outputs past its end are checked too; (1, 3), longest last, makes the layers reorder
the batch (and the initial states) longest first and back.
"""

from __future__ import annotations

import numpy as np

from enc2dec.nn.gradcheck import flatten
from enc2dec.nn.module import Module
from enc2dec.recurrent import CELLS, GRU, LSTM, RNN, Bidirectional, Stacked
from tests.helpers import randn

T, B, E, H = 3, 2, 5, 4  # the bidirectional stacks use H = 3, to stay fast
LENGTHS = np.array([3, 1])
LENGTHS_UNSORTED = np.array([1, 3])


class FlatState(Module):
    """Test adapter: an LSTM-like state (h, c) as two float inputs, so gradcheck perturbs and checks each;
    forward(x, lengths, h0, c0) -> inner.forward(x, lengths, (h0, c0)); backward returns (dx, dh0, dc0)."""

    def __init__(self, inner: Module):
        super().__init__()
        self.inner = inner

    def forward(self, x, lengths, *state):
        return self.inner.forward(x, lengths, state)

    def backward(self, dh_seq, d_final):
        dx, d_state = self.inner.backward(dh_seq, d_final)
        return (dx, *flatten(d_state))

    def extra_repr(self) -> str:
        return repr(self.inner)


def _layer_cases(name: str, cls: type) -> dict:
    cases = {
        name: lambda rng: (cls(E, H, rng=rng), [randn(rng, T, B, E)]),
        f"{name}_padded": lambda rng: (cls(E, H, rng=rng), [randn(rng, T, B, E), LENGTHS]),
        f"{name}_t1_b1": lambda rng: (cls(E, H, rng=rng), [randn(rng, 1, 1, E)]),
        f"{name}_orthogonal_b1_padded": lambda rng: (
            cls(E, H, rng=rng, w_h_init="orthogonal"),
            [randn(rng, 4, 1, E), np.array([2])],
        ),
    }
    if cls.has_cell:
        cases[f"{name}_state_padded"] = lambda rng: (
            FlatState(cls(E, H, rng=rng)),
            [randn(rng, T, B, E), LENGTHS_UNSORTED, randn(rng, B, H), randn(rng, B, H)],
        )
    else:
        cases[f"{name}_state_padded"] = lambda rng: (
            cls(E, H, rng=rng),
            [randn(rng, T, B, E), LENGTHS_UNSORTED, randn(rng, B, H)],
        )
    return cases


def _stack_state(rng, cell, size, hidden_size):
    return [randn(rng, size, B, hidden_size) for _ in range(2 if cell == "lstm" else 1)]


def _stacked_cases(cell: str) -> dict:
    def with_state(module, rng, x, size):
        state = _stack_state(rng, cell, size, module.hidden_size)
        return (FlatState(module) if cell == "lstm" else module), [x, LENGTHS, *state]

    return {
        f"stacked_{cell}_dropout_train": lambda rng: (
            Stacked(cell, E, H, 2, dropout=0.3, rng=rng).train(),
            [randn(rng, T, B, E), LENGTHS],
        ),
        f"stacked_{cell}_eval_state": lambda rng: with_state(
            Stacked(cell, E, H, 2, dropout=0.3, rng=rng).eval(), rng, randn(rng, T, B, E), 2
        ),
        f"stacked_{cell}_bidirectional_dropout_train_state": lambda rng: with_state(
            Stacked(cell, E, 3, 2, dropout=0.3, bidirectional=True, rng=rng).train(), rng, randn(rng, T, B, E), 4
        ),
        f"bidirectional_{cell}": lambda rng: (
            Bidirectional(CELLS[cell](E, H, rng=rng), CELLS[cell](E, H, rng=rng)),
            [randn(rng, T, B, E), LENGTHS],
        ),
    }


CASES = {
    **_layer_cases("rnn", RNN),
    **_layer_cases("lstm", LSTM),
    **_layer_cases("gru", GRU),
    **_stacked_cases("rnn"),
    **_stacked_cases("lstm"),
    **_stacked_cases("gru"),
    "bidirectional_lstm_state_b1": lambda rng: (
        FlatState(Bidirectional(LSTM(E, H, rng=rng), LSTM(E, H, rng=rng))),
        [randn(rng, 4, 1, E), np.array([3]), randn(rng, 2, 1, H), randn(rng, 2, 1, H)],
    ),
    "bidirectional_gru_state": lambda rng: (
        Bidirectional(GRU(E, H, rng=rng), GRU(E, H, rng=rng)),
        [randn(rng, T, B, E), None, randn(rng, 2, B, H)],
    ),
}
