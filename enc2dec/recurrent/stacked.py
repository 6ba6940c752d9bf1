"""A deep recurrent network: n_layers layers of one kind, each reading the outputs of the one below, with dropout
between layers (on the non-recurrent connections only, as Zaremba et al. 2014). Sutskever et al. (2014) use 4 LSTM
layers in the encoder and in the decoder.

Layout: x: (T, B, E) -> h_seq: (T, B, D*H) from the top layer, D = 2 when bidirectional. The state stacks the
layers (and, within a layer, the directions) on a leading axis like PyTorch's h_n: h: (L*D, B, H), for LSTM the
pair (h, c) of such; row l*D + d is layer l, direction d.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from enc2dec.layers.dropout import Dropout
from enc2dec.nn.module import Module
from enc2dec.recurrent.base import State, check_input, join_states, split_state
from enc2dec.recurrent.bidirectional import Bidirectional
from enc2dec.recurrent.gru import GRU
from enc2dec.recurrent.lstm import LSTM
from enc2dec.recurrent.rnn import RNN
from enc2dec.specials import DecoderState

CELLS = {"gru": GRU, "lstm": LSTM, "rnn": RNN}


class Stacked(Module):
    """`Stacked("lstm", E, H, n_layers, dropout=0.2, rng=rng)`; layers in `layers`, dropouts in `dropouts`."""

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        n_layers: int = 1,
        *,
        dropout: float = 0.0,
        bidirectional: bool = False,
        rng: np.random.Generator,
        w_h_init: str = "uniform",
    ):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"Stacked: cell must be one of {sorted(CELLS)}, got {cell!r}")
        if n_layers < 1:
            raise ValueError(f"Stacked: n_layers must be >= 1, got {n_layers}")
        self.cell = cell
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.n_layers = n_layers
        self.bidirectional = bidirectional
        self.n_directions = 2 if bidirectional else 1
        self.has_cell = CELLS[cell].has_cell
        self.dropout = dropout

        def make(n_in: int) -> Module:
            return CELLS[cell](n_in, hidden_size, rng=rng, w_h_init=w_h_init)

        self.layers: list[Module] = []
        for layer in range(n_layers):
            n_in = input_size if layer == 0 else self.output_size
            self.layers.append(Bidirectional(make(n_in), make(n_in)) if bidirectional else make(n_in))
        self.dropouts = [Dropout(dropout, rng=rng) for _ in range(n_layers - 1)]

    @property
    def output_size(self) -> int:
        return self.n_directions * self.hidden_size

    def forward(
        self, x: np.ndarray, lengths: np.ndarray | None = None, state: State | None = None
    ) -> tuple[np.ndarray, State]:
        """x: (T, B, E), lengths: (B,) int64 or None (all T), state: h (L*D, B, H) (or (h, c)) or None (zeros)
        -> h_seq: (T, B, D*H) of the top layer, zero past each length; final state h: (L*D, B, H) (or (h, c))."""
        _, B = check_input(self, "x", x, 3, self.input_size, "(T, B, {E})")
        states = self._split(state, B)
        finals = []
        h = x
        for layer, (block, s) in enumerate(zip(self.layers, states)):
            if layer > 0:
                h = self.dropouts[layer - 1].forward(h)
            h, final = block.forward(h, lengths, s)  # (T, B, D*H)
            finals.append(final)
        self._cache = (B, state is not None)
        return h, join_states(finals, self.has_cell)

    def backward(self, dh_seq: np.ndarray | None, d_final: State | None = None) -> Any:
        """dh_seq: (T, B, D*H) or None, d_final: like the final state or None
        -> dx: (T, B, E), or (dx, d_state) when forward was given an initial state."""
        # each layer's input gradient, through the dropout below it, is the output gradient of the layer below
        B, has_state = self.pop_cache()
        d_finals = self._split(d_final, B)
        d_states: list = [None] * self.n_layers
        d = dh_seq
        for layer in reversed(range(self.n_layers)):
            out = self.layers[layer].backward(d, d_finals[layer])
            d, d_states[layer] = out if has_state else (out, None)
            if layer > 0:
                d = self.dropouts[layer - 1].backward(d)
        return (d, join_states(d_states, self.has_cell)) if has_state else d

    def step(self, x_t: np.ndarray, state: State | None = None) -> tuple[np.ndarray, State]:
        """One time step through all layers, for decoding (no dropout, caches nothing):
        x_t: (B, E), state: h (L, B, H) (or (h, c)) or None -> h_t: (B, H) of the top layer, new state."""
        if self.bidirectional:
            raise ValueError(f"{self!r}: step needs a unidirectional stack (the reverse direction reads ahead)")
        (B,) = check_input(self, "x_t", x_t, 2, self.input_size, "(B, {E})")
        new_states = []
        h = x_t
        for block, s in zip(self.layers, self._split(state, B)):
            h, s = block.step(h, s)
            new_states.append(s)
        return h, join_states(new_states, self.has_cell)

    def zero_state(self, batch_size: int) -> State:
        """Zeros h: (L*D, B, H) (or (h, c)), the initial state forward assumes when given none."""
        return join_states([block.zero_state(batch_size) for block in self.layers], self.has_cell)

    # -- decoder state with batch on axis 0 (enc2dec.decoding) ---------------------------------------------------
    def state_to_batch_major(self, state: State) -> DecoderState:
        """h: (L*D, B, H) (or (h, c)) -> {"h": (B, L*D, H)[, "c": (B, L*D, H)]}, batch first for decoding."""
        parts = state if self.has_cell else (state,)
        return {name: s.transpose(1, 0, 2) for name, s in zip(("h", "c"), parts)}

    def state_from_batch_major(self, state: DecoderState) -> State:
        """The inverse of state_to_batch_major."""
        h = state["h"].transpose(1, 0, 2)  # (B, L*D, H) -> (L*D, B, H)
        return (h, state["c"].transpose(1, 0, 2)) if self.has_cell else h

    def _split(self, state: State | None, B: int) -> list:
        L = self.n_layers
        return split_state(self, state, L, L * self.n_directions, self.has_cell, B, self.hidden_size)

    def extra_repr(self) -> str:
        extras = "".join(
            [f", dropout={self.dropout}" if self.dropout else "", ", bidirectional" if self.bidirectional else ""]
        )
        return f"{self.cell}, {self.input_size} -> {self.hidden_size}, n_layers={self.n_layers}{extras}"
