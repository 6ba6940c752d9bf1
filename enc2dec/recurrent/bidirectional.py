"""Bidirectional recurrent layer (Schuster & Paliwal 1997): one layer reads each sequence forward, a second reads it
reversed within its own length (so padding stays at the end), and their outputs are concatenated.

Layout: x: (T, B, E) -> h_seq: (T, B, 2H), forward direction first, as in PyTorch. States stack the directions
on a leading axis like PyTorch's h_n: h: (2, B, H) (LSTM: the pair (h, c)), index 0 forward, 1 reverse. The
reverse direction's final state is its state after reading a sequence's first step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from enc2dec.nn.module import Module
from enc2dec.recurrent.base import (
    Recurrent,
    State,
    check_input,
    join_states,
    padded_lengths,
    reverse_padded,
    split_state,
)


class Bidirectional(Module):
    """Two recurrent layers of one kind and size: `Bidirectional(LSTM(E, H, rng=rng), LSTM(E, H, rng=rng))`."""

    def __init__(self, forward_layer: Recurrent, reverse_layer: Recurrent):
        super().__init__()
        same = (type(forward_layer), forward_layer.input_size, forward_layer.hidden_size)
        if (type(reverse_layer), reverse_layer.input_size, reverse_layer.hidden_size) != same:
            raise ValueError(
                f"Bidirectional: both directions need the same kind and size of layer, got {forward_layer!r} "
                f"and {reverse_layer!r}"
            )
        self.forward_layer = forward_layer
        self.reverse_layer = reverse_layer
        self.input_size = forward_layer.input_size
        self.hidden_size = forward_layer.hidden_size
        self.has_cell = forward_layer.has_cell

    def forward(
        self, x: np.ndarray, lengths: np.ndarray | None = None, state: State | None = None
    ) -> tuple[np.ndarray, State]:
        """x: (T, B, E), lengths: (B,) int64 or None, state: h (2, B, H) (or (h, c)) or None
        -> h_seq: (T, B, 2H), zero past each length; final state h: (2, B, H) (or (h, c))."""
        T, B = check_input(self, "x", x, 3, self.input_size, "(T, B, {E})")
        padded_lengths(self, lengths, T, B)  # checks lengths before they index the reversal
        s_fwd, s_rev = split_state(self, state, 2, 2, self.has_cell, B, self.hidden_size)
        y_fwd, final_fwd = self.forward_layer.forward(x, lengths, s_fwd)
        y_rev, final_rev = self.reverse_layer.forward(reverse_padded(x, lengths), lengths, s_rev)
        self._cache = (lengths, B, state is not None)
        h_seq = np.concatenate([y_fwd, reverse_padded(y_rev, lengths)], axis=-1)  # (T, B, 2H)
        return h_seq, join_states([final_fwd, final_rev], self.has_cell)

    def backward(self, dh_seq: np.ndarray | None, d_final: State | None = None) -> Any:
        """dh_seq: (T, B, 2H) or None, d_final: like the final state or None -> dx: (T, B, E), or (dx, d_state)."""
        # y = [y_fwd, rev(y_rev(rev(x)))]: split dy, reverse the second half, run both layers back, add up dx
        lengths, B, has_state = self.pop_cache()
        H = self.hidden_size
        dy_fwd = dy_rev = None
        if dh_seq is not None:
            dy_fwd, dy_rev = dh_seq[..., :H], reverse_padded(dh_seq[..., H:], lengths)
        d_fwd, d_rev = split_state(self, d_final, 2, 2, self.has_cell, B, H)
        out_fwd = self.forward_layer.backward(dy_fwd, d_fwd)
        out_rev = self.reverse_layer.backward(dy_rev, d_rev)
        if not has_state:
            return out_fwd + reverse_padded(out_rev, lengths)
        dx = out_fwd[0] + reverse_padded(out_rev[0], lengths)
        return dx, join_states([out_fwd[1], out_rev[1]], self.has_cell)

    def zero_state(self, batch_size: int) -> State:
        return join_states([self.forward_layer.zero_state(batch_size)] * 2, self.has_cell)

    def extra_repr(self) -> str:
        return repr(self.forward_layer)
