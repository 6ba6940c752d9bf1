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

from enc2dec.nn.functional import sigmoid
from enc2dec.nn.module import Module
from enc2dec.recurrent.base import Recurrent


class LSTM(Recurrent, Module):
    """x: (T, B, E) -> h_seq: (T, B, H), final (h, c): (B, H) each. w_x: (E, 4H), w_h: (H, 4H), bias: (4H,)."""

    n_gates = 4
    has_cell = True

    def _run(self, x, mask, states):
        T, B, _ = x.shape
        H = self.hidden_size
        acts = self._project(x)  # (T, B, 4H) pre-activations, turned into gate values in place
        hs, cs = self._new_states(states, T)  # (T+1, B, H) each
        tanh_c = np.empty((T, B, H), dtype=acts.dtype)
        padded = None if mask is None else ~mask
        w_h = self.w_h.value
        hw = np.empty((B, 4 * H), dtype=acts.dtype)  # scratch for h w_h
        ig = np.empty((B, H), dtype=acts.dtype)  # scratch for i * g
        for t in range(T):
            a = acts[t]
            np.matmul(hs[t], w_h, out=hw)  # the one product per step
            a += hw
            sigmoid(a[:, : 3 * H], out=a[:, : 3 * H])
            np.tanh(a[:, 3 * H :], out=a[:, 3 * H :])
            i, f, o, g = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            np.multiply(f, cs[t], out=cs[t + 1])
            np.multiply(i, g, out=ig)
            cs[t + 1] += ig
            np.tanh(cs[t + 1], out=tanh_c[t])
            np.multiply(o, tanh_c[t], out=hs[t + 1])
            if padded is not None:  # carry both states past the sequence's end
                np.copyto(cs[t + 1], cs[t], where=padded[t])
                np.copyto(hs[t + 1], hs[t], where=padded[t])
        cache = (x, hs, cs, tanh_c, acts)
        return self._outputs(hs, mask), (hs[-1].copy(), cs[-1].copy()), cache

    def _backprop(self, cache, dh_seq, d_states, mask):
        # h' = o tanh(c'), c' = f c + i g  =>  do = dh' tanh(c'),  dc' += dh' o (1 - tanh(c')^2),
        # di = dc' g,  df = dc' c,  dg = dc' i,  dc = dc' f;  through sigmoid s' = s (1 - s), tanh g' = 1 - g^2;
        # dh = d_gates w_h^T;  dW = sum over steps (one product each, below)
        x, hs, cs, tanh_c, acts = cache
        T, B, _ = x.shape
        H = self.hidden_size
        dh, dc = d_states  # d(loss)/d(states after step t), updated in place going back
        d_acts = np.empty_like(acts)  # (T, B, 4H)
        w_hT = self.w_h.value.T
        masked = mask is not None
        d_new = np.empty_like(dh) if masked else dh  # the share of dh, dc that reaches the cell
        dc_new = np.empty_like(dc) if masked else dc
        tmp = np.empty_like(dh)
        tmp3 = np.empty((B, 3 * H), dtype=acts.dtype)
        for t in reversed(range(T)):
            dh += dh_seq[t]
            if masked:
                np.multiply(dh, mask[t], out=d_new)
                dh -= d_new
                np.multiply(dc, mask[t], out=dc_new)
                dc -= dc_new
            a, da, tc = acts[t], d_acts[t], tanh_c[t]
            i, f, o, g = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            di, df, do, dg = da[:, :H], da[:, H : 2 * H], da[:, 2 * H : 3 * H], da[:, 3 * H :]
            np.multiply(d_new, tc, out=do)
            np.multiply(tc, tc, out=tmp)
            np.subtract(1, tmp, out=tmp)
            tmp *= o
            tmp *= d_new
            dc_new += tmp
            np.multiply(dc_new, g, out=di)
            np.multiply(dc_new, cs[t], out=df)
            np.multiply(dc_new, i, out=dg)
            if masked:
                np.multiply(dc_new, f, out=tmp)
                dc += tmp
            else:
                dc *= f  # dc is dc_new
            s = a[:, : 3 * H]
            np.subtract(1, s, out=tmp3)
            tmp3 *= s
            da[:, : 3 * H] *= tmp3
            np.multiply(g, g, out=tmp)
            np.subtract(1, tmp, out=tmp)
            dg *= tmp
            if masked:
                np.matmul(da, w_hT, out=tmp)
                dh += tmp
            else:
                np.matmul(da, w_hT, out=dh)
        dx = self._weight_grads(x, hs[:-1], d_acts, d_acts)
        return dx, (dh, dc)
