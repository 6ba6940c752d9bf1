"""Elman RNN (Elman 1990) with tanh: h_t = tanh(x_t w_x + h_{t-1} w_h + bias). One gate block (G = 1)."""

from __future__ import annotations

import numpy as np

from enc2dec.nn.module import Module
from enc2dec.recurrent.base import Recurrent


class RNN(Recurrent, Module):
    """x: (T, B, E) -> h_seq: (T, B, H), final h: (B, H). Parameters w_x: (E, H), w_h: (H, H), bias: (H,).

    PyTorch's nn.RNN(nonlinearity="tanh") with weight_ih = w_x.T, weight_hh = w_h.T, bias_ih + bias_hh = bias.
    """

    n_gates = 1

    def _run(self, x, live, states):
        T, B, _ = x.shape
        acts = self._project(x, live)  # (T, B, H) pre-activations, turned into tanh outputs in place
        (hs,) = self._new_states(states, T)  # (T+1, B, H)
        w_h = self.w_h.value
        hw = np.empty_like(states[0])  # (B, H) scratch for h w_h
        for t in range(T):
            n = B if live is None else live[t]  # the rows still running
            a = acts[t, :n]
            np.matmul(hs[t, :n], w_h, out=hw[:n])
            a += hw[:n]
            np.tanh(a, out=a)
            hs[t + 1, :n] = a
            if n < B:
                hs[t + 1, n:] = hs[t, n:]  # carry the state past the sequences' ends
        return self._outputs(hs, live), (hs[-1].copy(),), (x, hs, acts)

    def _backprop(self, cache, dh_seq, d_states, live):
        # h' = tanh(a), a = x w_x + h w_h + b  =>  da = dh' (1 - h'^2), dh = da w_h^T, dW = sum over steps (below)
        x, hs, acts = cache
        T, B, _ = x.shape
        (dh,) = d_states  # d(loss)/d(state after step t), updated in place going back; finished rows carried
        d_acts = np.empty_like(acts)  # (T, B, H)
        w_hT = self.w_h.value.T
        for t in reversed(range(T)):
            n = B if live is None else live[t]
            d_acts[t, n:] = 0
            dh_n, da, a = dh[:n], d_acts[t, :n], acts[t, :n]
            dh_n += dh_seq[t, :n]
            np.multiply(a, a, out=da)
            np.subtract(1, da, out=da)
            da *= dh_n
            np.matmul(da, w_hT, out=dh_n)
        dx = self._weight_grads(x, hs[:-1], d_acts, d_acts, live)
        return dx, (dh,)
