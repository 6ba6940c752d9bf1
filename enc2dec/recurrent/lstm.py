"""Long short-term memory (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000).

Gates fused in the order i, f, o, g (three sigmoids side by side, then the tanh candidate):
    [i, f, o, g] = [sigmoid, sigmoid, sigmoid, tanh](x_t w_x + h_{t-1} w_h + bias)
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)
PyTorch orders its blocks i, f, g, o: its weight_ih is w_x[:, perm].T with perm the column blocks (0, 1, 3, 2),
and bias_ih + bias_hh = bias likewise permuted.
"""

from __future__ import annotations

import numpy as np

from enc2dec.nn import parallel
from enc2dec.nn.functional import sigmoid
from enc2dec.nn.module import Module
from enc2dec.recurrent.base import Recurrent


class LSTM(Recurrent, Module):
    """x: (T, B, E) -> h_seq: (T, B, H), final (h, c): (B, H) each. w_x: (E, 4H), w_h: (H, 4H), bias: (4H,)."""

    n_gates = 4
    has_cell = True

    def _run(self, x, live, states):
        T, B, _ = x.shape
        H = self.hidden_size
        acts = self._project(x, live)  # (T, B, 4H) pre-activations, turned into gate values in place
        hs, cs = self._new_states(states, T)  # (T+1, B, H) each
        tanh_c = np.empty((T, B, H), dtype=acts.dtype)
        w_h = self.w_h.value
        hw = np.empty((B, 4 * H), dtype=acts.dtype)  # scratch for h w_h
        ig = np.empty((B, H), dtype=acts.dtype)  # scratch for i * g
        for t in range(T):
            n = B if live is None else live[t]  # the rows still running
            a = acts[t, :n]
            np.matmul(hs[t, :n], w_h, out=hw[:n])  # the one product per step
            a += hw[:n]
            _cell(a, cs[t, :n], cs[t + 1, :n], hs[t + 1, :n], tanh_c[t, :n], ig[:n])
            if n < B:  # carry both states past the sequences' ends
                cs[t + 1, n:] = cs[t, n:]
                hs[t + 1, n:] = hs[t, n:]
        cache = (x, hs, cs, tanh_c, acts)
        return self._outputs(hs, live), (hs[-1].copy(), cs[-1].copy()), cache

    def _step(self, x_t, states):
        h, c = states
        a = x_t @ self.w_x.value  # (B, 4H)
        a += self.bias.value
        a += h @ self.w_h.value
        h_new, c_new, tanh_c, ig = (np.empty_like(c) for _ in range(4))
        parallel.over_rows(
            lambda r: _cell(a[r], c[r], c_new[r], h_new[r], tanh_c[r], ig[r]), len(a), a.size
        )  # rows are independent: identical on any number of threads
        return h_new, (h_new, c_new)

    def _backprop(self, cache, dh_seq, d_states, live):
        # h' = o tanh(c'), c' = f c + i g  =>  do = dh' tanh(c'),  dc' += dh' o (1 - tanh(c')^2),
        # di = dc' g,  df = dc' c,  dg = dc' i,  dc = dc' f;  through sigmoid s' = s (1 - s), tanh g' = 1 - g^2;
        # dh = d_gates w_h^T;  dW = sum over steps (one product each, below)
        x, hs, cs, tanh_c, acts = cache
        T, B, _ = x.shape
        H = self.hidden_size
        dh, dc = d_states  # d(loss)/d(states after step t), updated in place going back; finished rows carried
        d_acts = np.empty_like(acts)  # (T, B, 4H)
        w_hT = self.w_h.value.T
        scratch = np.empty_like(dh)
        scratch3 = np.empty((B, 3 * H), dtype=acts.dtype)
        for t in reversed(range(T)):
            n = B if live is None else live[t]
            d_acts[t, n:] = 0
            dh_n, dc_n, tmp, tmp3 = dh[:n], dc[:n], scratch[:n], scratch3[:n]
            dh_n += dh_seq[t, :n]
            a, da, tc = acts[t, :n], d_acts[t, :n], tanh_c[t, :n]
            i, f, o, g = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            di, df, do, dg = da[:, :H], da[:, H : 2 * H], da[:, 2 * H : 3 * H], da[:, 3 * H :]
            np.multiply(dh_n, tc, out=do)
            np.multiply(tc, tc, out=tmp)
            np.subtract(1, tmp, out=tmp)
            tmp *= o
            tmp *= dh_n
            dc_n += tmp
            np.multiply(dc_n, g, out=di)
            np.multiply(dc_n, cs[t, :n], out=df)
            np.multiply(dc_n, i, out=dg)
            dc_n *= f
            s = a[:, : 3 * H]
            np.subtract(1, s, out=tmp3)
            tmp3 *= s
            da[:, : 3 * H] *= tmp3
            np.multiply(g, g, out=tmp)
            np.subtract(1, tmp, out=tmp)
            dg *= tmp
            np.matmul(da, w_hT, out=dh_n)
        dx = self._weight_grads(x, hs[:-1], d_acts, d_acts, live)
        return dx, (dh, dc)


def _cell(
    a: np.ndarray, c: np.ndarray, c_new: np.ndarray, h_new: np.ndarray, tanh_c: np.ndarray, ig: np.ndarray
) -> None:
    """One step's element-wise math, in place: a: (n, 4H) pre-activations, turned into the gate values [i, f, o, g];
    c: (n, H) the previous cell -> c_new, h_new, tanh_c = tanh(c_new) written; ig: (n, H) scratch."""
    H = c.shape[1]
    sigmoid(a[:, : 3 * H], out=a[:, : 3 * H])
    np.tanh(a[:, 3 * H :], out=a[:, 3 * H :])
    i, f, o, g = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
    np.multiply(f, c, out=c_new)
    np.multiply(i, g, out=ig)
    c_new += ig
    np.tanh(c_new, out=tanh_c)
    np.multiply(o, tanh_c, out=h_new)
