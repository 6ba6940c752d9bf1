"""Gated recurrent unit (Cho et al. 2014), in PyTorch's formulation so that parity with torch.nn.GRU is exact.

Gates fused in the order r, z, n:
    r = sigmoid(x_t w_x[r] + h_{t-1} w_h[r] + bias[r])
    z = sigmoid(x_t w_x[z] + h_{t-1} w_h[z] + bias[z])
    n = tanh(x_t w_x[n] + bias[n] + r * (h_{t-1} w_h[n] + bias_hn))
    h_t = (1 - z) * n + z * h_{t-1}
The recurrent bias of the candidate sits inside the reset gate's product, so it cannot merge with the input bias:
it is the separate parameter `bias_hn: (H,)`. For r and z the two biases of PyTorch are one: bias[:2H] equals
PyTorch's bias_ih[:2H] + bias_hh[:2H], bias[2H:] its bias_ih[2H:], and bias_hn its bias_hh[2H:].
"""

from __future__ import annotations

import math

import numpy as np

from enc2dec.nn import init, parallel
from enc2dec.nn.functional import sigmoid
from enc2dec.nn.module import Module
from enc2dec.nn.parameter import Parameter
from enc2dec.recurrent.base import Recurrent


class GRU(Recurrent, Module):
    """x: (T, B, E) -> h_seq: (T, B, H), final h: (B, H).
    w_x: (E, 3H), w_h: (H, 3H), bias: (3H,) (input side, r z n), bias_hn: (H,) (recurrent bias of n)."""

    n_gates = 3

    def __init__(self, input_size: int, hidden_size: int, *, rng: np.random.Generator, w_h_init: str = "uniform"):
        super().__init__(input_size, hidden_size, rng=rng, w_h_init=w_h_init)
        self.bias_hn = Parameter(init.uniform((hidden_size,), 1.0 / math.sqrt(hidden_size), rng))

    def _run(self, x, live, states):
        T, B, _ = x.shape
        H = self.hidden_size
        acts = self._project(x, live)  # (T, B, 3H) input parts, turned into r, z, n in place
        (hs,) = self._new_states(states, T)  # (T+1, B, H)
        hn = np.empty((T, B, H), dtype=acts.dtype)  # h w_h[n] + bias_hn, kept for backward
        w_h, b_hn = self.w_h.value, self.bias_hn.value
        hw = np.empty((B, 3 * H), dtype=acts.dtype)  # scratch for h w_h
        scratch = np.empty((B, H), dtype=acts.dtype)
        for t in range(T):
            k = B if live is None else live[t]  # the rows still running
            np.matmul(hs[t, :k], w_h, out=hw[:k])  # the one product per step
            _cell(acts[t, :k], hw[:k], b_hn, hs[t, :k], hn[t, :k], hs[t + 1, :k], scratch[:k])
            if k < B:
                hs[t + 1, k:] = hs[t, k:]  # carry the state past the sequences' ends
        return self._outputs(hs, live), (hs[-1].copy(),), (x, hs, hn, acts)

    def _step(self, x_t, states):
        (h,) = states
        a = x_t @ self.w_x.value  # (B, 3H)
        a += self.bias.value
        hw = h @ self.w_h.value  # (B, 3H)
        hn, h_new, tmp = (np.empty_like(h) for _ in range(3))
        b_hn = self.bias_hn.value
        parallel.over_rows(
            lambda r: _cell(a[r], hw[r], b_hn, h[r], hn[r], h_new[r], tmp[r]), len(a), a.size
        )  # rows are independent: identical on any number of threads
        return h_new, (h_new,)

    def _backprop(self, cache, dh_seq, d_states, live):
        # h' = n + z (h - n)  =>  dn = dh' (1 - z),  dz = dh' (h - n),  dh = dh' z + d_gh w_h^T;
        # n = tanh(a_n + r hn)  =>  da_n = dn (1 - n^2),  d_hn = da_n r,  dr = da_n hn;  sigmoids s' = s (1 - s).
        # The input side gets [da_r, da_z, da_n] (w_x, bias), the recurrent side [da_r, da_z, d_hn] (w_h, bias_hn).
        x, hs, hn, acts = cache
        T, B, _ = x.shape
        H = self.hidden_size
        (dh,) = d_states  # updated in place going back; finished rows carried
        d_gx = np.empty_like(acts)  # (T, B, 3H)
        d_gh = np.empty_like(acts)  # (T, B, 3H)
        w_hT = self.w_h.value.T
        scratch = np.empty_like(dh)
        scratch2 = np.empty((B, 2 * H), dtype=acts.dtype)
        for t in reversed(range(T)):
            k = B if live is None else live[t]
            d_gx[t, k:] = 0
            d_gh[t, k:] = 0
            dh_k, tmp, tmp2 = dh[:k], scratch[:k], scratch2[:k]
            dh_k += dh_seq[t, :k]
            a, dgx, dgh = acts[t, :k], d_gx[t, :k], d_gh[t, :k]
            r, z, n = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
            dr, dz, dn = dgx[:, :H], dgx[:, H : 2 * H], dgx[:, 2 * H :]
            np.subtract(hs[t, :k], n, out=tmp)
            np.multiply(dh_k, tmp, out=dz)
            np.subtract(1, z, out=tmp)
            np.multiply(dh_k, tmp, out=dn)
            np.multiply(n, n, out=tmp)
            np.subtract(1, tmp, out=tmp)
            dn *= tmp
            np.multiply(dn, r, out=dgh[:, 2 * H :])
            np.multiply(dn, hn[t, :k], out=dr)
            s = a[:, : 2 * H]
            np.subtract(1, s, out=tmp2)
            tmp2 *= s
            dgx[:, : 2 * H] *= tmp2
            dgh[:, : 2 * H] = dgx[:, : 2 * H]
            dh_k *= z
            np.matmul(dgh, w_hT, out=tmp)
            dh_k += tmp
        self.bias_hn.grad += d_gh[:, :, 2 * H :].sum(axis=(0, 1))
        dx = self._weight_grads(x, hs[:-1], d_gx, d_gh, live)
        return dx, (dh,)


def _cell(
    a: np.ndarray, hw: np.ndarray, b_hn: np.ndarray, h: np.ndarray, hn: np.ndarray, h_new: np.ndarray, tmp: np.ndarray
) -> None:
    """One step's element-wise math, in place: a: (n, 3H) input parts x w_x + bias, turned into [r, z, n];
    hw: (n, 3H) = h w_h; h: (n, H) the previous state -> hn = hw[n] + b_hn and h_new written; tmp: (n, H) scratch."""
    H = h.shape[1]
    a[:, : 2 * H] += hw[:, : 2 * H]
    sigmoid(a[:, : 2 * H], out=a[:, : 2 * H])
    np.add(hw[:, 2 * H :], b_hn, out=hn)
    r, z, n = a[:, :H], a[:, H : 2 * H], a[:, 2 * H :]
    np.multiply(r, hn, out=tmp)
    n += tmp
    np.tanh(n, out=n)
    np.subtract(h, n, out=h_new)  # h' = n + z (h - n)
    h_new *= z
    h_new += n
