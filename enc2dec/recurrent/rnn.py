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

    def _run(self, x, mask, states):
        T, B, _ = x.shape
        acts = self._project(x)  # (T, B, H) pre-activations, turned into tanh outputs in place
        (hs,) = self._new_states(states, T)  # (T+1, B, H)
        padded = None if mask is None else ~mask
        w_h = self.w_h.value
        hw = np.empty_like(states[0])  # (B, H) scratch for h w_h
        for t in range(T):
            a = acts[t]
            np.matmul(hs[t], w_h, out=hw)
            a += hw
            np.tanh(a, out=a)
            hs[t + 1] = a
            if padded is not None:
                np.copyto(hs[t + 1], hs[t], where=padded[t])  # carry the state past the sequence's end
        return self._outputs(hs, mask), (hs[-1].copy(),), (x, hs, acts)

    def _backprop(self, cache, dh_seq, d_states, mask):
        # h' = tanh(a), a = x w_x + h w_h + b  =>  da = dh' (1 - h'^2), dh = da w_h^T, dW = sum over steps (below)
        x, hs, acts = cache
        T = x.shape[0]
        (dh,) = d_states  # d(loss)/d(state after step t), updated in place going back
        d_acts = np.empty_like(acts)  # (T, B, H)
        w_hT = self.w_h.value.T
        d_new = np.empty_like(dh) if mask is not None else dh
        tmp = np.empty_like(dh)
        for t in reversed(range(T)):
            dh += dh_seq[t]
            if mask is not None:
                np.multiply(dh, mask[t], out=d_new)  # the share that reaches the cell; the rest is carried
                dh -= d_new
            da = d_acts[t]
            np.multiply(acts[t], acts[t], out=da)
            np.subtract(1, da, out=da)
            da *= d_new
            if mask is None:
                np.matmul(da, w_hT, out=dh)
            else:
                np.matmul(da, w_hT, out=tmp)
                dh += tmp
        dx = self._weight_grads(x, hs[:-1], d_acts, d_acts)
        return dx, (dh,)
