"""Multi-head scaled dot-product attention (Vaswani et al. 2017, section 3.2, eq. 1).

    Attention(Q, K, V) = softmax(Q K^T / sqrt(dh)) V,  heads computed at once: (B, T, D) -> (B, nh, T, dh)

Self-attention projects queries, keys and values with one fused Linear `qkv`: (D, 3D), laid out [q | k | v];
cross-attention projects queries with `q`: (D, D) and keys and values from the memory with one fused `kv`:
(D, 2D), laid out [k | v], so decoding projects a source once (`project_memory`). Heads are a reshape and every
head runs in one batched matmul (no loop over heads). Masks are boolean, True where a query may look, and
broadcast against the scores (B, nh, T, S) after a head axis is inserted: (B, 1, S) padding, (T, S) causal,
(B, T, S) both. The softmax and its backward are `masks.masked_softmax` / `masks.softmax_backward`, the one
masked softmax of every attention. Dropout acts on the attention weights. With a `masks.Packing`, inputs and
outputs hold only the real positions, (N, D): the projections skip the padding; only the score products see it.

Backward, with a = softmax(s), s = (q / sqrt(dh)) k^T, c = a v:
    dv = a^T dc,  da = dc v^T,  ds = a (da - sum(a da)),  dq = ds k / sqrt(dh),  dk = ds^T q / sqrt(dh);
the key bias's gradient, sum(dk) over positions, is exactly zero (each row of ds sums to zero) and is set so.

Decoding (`step_self`, `step_cross`) computes without caches: self-attention appends this step's key and value
to the past ones (the KV cache, (B, nh, t, dh) per layer), cross-attention reads keys and values projected once.
"""

from __future__ import annotations

import math

import numpy as np

from enc2dec.attention.masks import Packing, masked_softmax, pack, pad, softmax_backward
from enc2dec.layers import Dropout, Linear
from enc2dec.nn.checks import check_ndim
from enc2dec.nn.module import Module


def split_heads(x: np.ndarray, n_heads: int) -> np.ndarray:
    """x: (B, T, D) -> (B, nh, T, dh), a view when possible."""
    B, T, D = x.shape
    return x.reshape(B, T, n_heads, D // n_heads).transpose(0, 2, 1, 3)  # (B, T, D) -> (B, nh, T, dh)


def merge_heads(x: np.ndarray) -> np.ndarray:
    """x: (B, nh, T, dh) -> (B, T, D)."""
    B, nh, T, dh = x.shape
    return x.transpose(0, 2, 1, 3).reshape(B, T, nh * dh)  # (B, nh, T, dh) -> (B, T, D)


def _head_mask(mask: np.ndarray | None) -> np.ndarray | None:
    """(B, T, S) or (B, 1, S) -> (B, 1, T, S) or (B, 1, 1, S); (T, S) and None unchanged."""
    return mask[:, None] if mask is not None and mask.ndim == 3 else mask


def _zero_key_bias_grad(projection: Linear, keys: slice) -> None:
    """The key bias's gradient is exactly zero: it adds q . b_k to every score of a query, a shift the softmax
    ignores. Computed, it would be rounding noise, which Adam scales up to steps of +-lr (and processes summing
    their gradients in another order would drift apart); it is set to its exact value. keys: the key block of
    the fused projection's outputs."""
    if projection.bias is not None:
        projection.bias.grad[keys] = 0.0


class MultiHeadAttention(Module):
    """Self-attention: forward(x, mask) with x: (B, T, D) -> y: (B, T, D).
    Cross-attention (cross=True): forward(x, memory, mask) with x: (B, T, D), memory: (B, S, D) -> y: (B, T, D);
    backward returns (dx, d_memory). mask: bool, broadcastable as the module docstring says, or None."""

    def __init__(
        self,
        model_size: int,
        n_heads: int,
        *,
        rng: np.random.Generator,
        dropout: float = 0.0,
        cross: bool = False,
    ):
        super().__init__()
        if model_size % n_heads:
            raise ValueError(f"MultiHeadAttention: model_size {model_size} must be divisible by n_heads {n_heads}")
        self.model_size, self.n_heads, self.cross = model_size, n_heads, cross
        self.scale = 1.0 / math.sqrt(model_size // n_heads)  # a Python float: keeps float32
        if cross:
            self.q = Linear(model_size, model_size, rng=rng)
            self.kv = Linear(model_size, 2 * model_size, rng=rng)
        else:
            self.qkv = Linear(model_size, 3 * model_size, rng=rng)
        self.out = Linear(model_size, model_size, rng=rng)
        self.dropout = Dropout(dropout, rng=rng)

    # -- training -------------------------------------------------------------------------------------------------
    def forward(self, x: np.ndarray, *args: np.ndarray | Packing | None) -> np.ndarray:
        """Self: forward(x, mask=None, packing=None); cross: forward(x, memory, mask=None, packing=None,
        memory_packing=None). With a packing, x (or memory) holds the real positions only, (N, D), and so does y;
        the products over positions (projections) skip the padding, and attention pads to (B, T, .) inside."""
        nh = self.n_heads
        if self.cross:
            memory, mask, packing, memory_packing = (*args, None, None, None)[:4]
            self._check(x, packing, "x", "T")
            self._check(memory, memory_packing, "memory", "S")
            q = split_heads(pad(self.q.forward(x), packing), nh)  # (B, T, D) -> (B, nh, T, dh)
            k, v = self._split_kv(pad(self.kv.forward(memory), memory_packing))  # (B, S, 2D) -> 2 x (B, nh, S, dh)
        else:
            (mask, packing), memory_packing = (*args, None, None)[:2], None
            self._check(x, packing, "x", "T")
            qkv = pad(self.qkv.forward(x), packing)  # (B, T, 3D)
            B, T, _ = qkv.shape
            q, k, v = qkv.reshape(B, T, 3, nh, -1).transpose(2, 0, 3, 1, 4)  # 3 x (B, nh, T, dh)
        q = q * self.scale
        a = masked_softmax(q @ k.transpose(0, 1, 3, 2), _head_mask(mask))  # (B, nh, T, S)
        a_drop = self.dropout.forward(a)
        c = merge_heads(a_drop @ v)  # (B, nh, T, dh) -> (B, T, D)
        self._cache = (q, k, v, a, a_drop, packing, memory_packing)
        return self.out.forward(pack(c, packing))

    def backward(self, dy: np.ndarray) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        # see the module docstring; q here is already scaled by 1 / sqrt(dh)
        q, k, v, a, a_drop, packing, memory_packing = self.pop_cache()
        dc = split_heads(pad(self.out.backward(dy), packing), self.n_heads)  # (B, T, D) -> (B, nh, T, dh)
        dv = a_drop.transpose(0, 1, 3, 2) @ dc  # (B, nh, S, dh)
        ds = softmax_backward(a, self.dropout.backward(dc @ v.transpose(0, 1, 3, 2)))  # (B, nh, T, S)
        dq = (ds @ k) * self.scale  # (B, nh, T, dh)
        dk = ds.transpose(0, 1, 3, 2) @ q  # (B, nh, S, dh)
        if self.cross:
            dx = self.q.backward(pack(merge_heads(dq), packing))
            d_kv = np.concatenate([merge_heads(dk), merge_heads(dv)], axis=-1)  # (B, S, 2D)
            d_memory = self.kv.backward(pack(d_kv, memory_packing))
            _zero_key_bias_grad(self.kv, slice(0, self.model_size))
            return dx, d_memory
        d_qkv = np.stack([dq, dk, dv])  # (3, B, nh, T, dh)
        B, T = dq.shape[0], dq.shape[2]
        dx = self.qkv.backward(pack(d_qkv.transpose(1, 3, 0, 2, 4).reshape(B, T, -1), packing))  # (B, T, 3D)
        _zero_key_bias_grad(self.qkv, slice(self.model_size, 2 * self.model_size))
        return dx

    def _check(self, x: np.ndarray, packing: Packing | None, name: str, length: str) -> None:
        if packing is None:
            check_ndim(self, name, x, 3, f"(B, {length}, D)")
        elif x.ndim != 2 or x.shape[0] != packing.n:
            raise ValueError(f"{self!r}: packed {name} must have shape ({packing.n}, D), got {x.shape}")

    def _split_kv(self, kv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        B, S, _ = kv.shape
        k, v = kv.reshape(B, S, 2, self.n_heads, -1).transpose(2, 0, 3, 1, 4)  # (B, S, 2D) -> 2 x (B, nh, S, dh)
        return k, v

    # -- decoding: no caches for backward -----------------------------------------------------------------------
    def _attend(self, q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """q: (B, nh, T, dh) unscaled, k, v: (B, nh, S, dh) -> y: (B, T, D), through the output projection."""
        a = masked_softmax((q * self.scale) @ k.transpose(0, 1, 3, 2), _head_mask(mask))  # (B, nh, T, S)
        return self.out.apply(merge_heads(a @ v))

    def project_memory(self, memory: np.ndarray, packing: Packing | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Cross-attention keys and values, once per source. memory: (B, S, D), or (N, D) packed with packing
        -> k, v: (B, nh, S, dh) each."""
        k, v = self._split_kv(pad(self.kv.apply(memory), packing))
        return np.ascontiguousarray(k), np.ascontiguousarray(v)

    def step_cross(self, x: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        """x: (N, t, D), the hypotheses of n sentences, N / n of each, adjacent; k, v: (n, nh, S, dh) from
        project_memory, mask: (n, 1, S) -> y: (N, t, D). A sentence's hypotheses attend to its keys together, as one
        sequence of N / n * t queries, so its keys and values are neither copied per hypothesis nor reordered."""
        N, t, D = x.shape
        q = self.q.apply(x).reshape(k.shape[0], -1, D)  # (n, N / n * t, D)
        return self._attend(split_heads(q, self.n_heads), k, v, mask).reshape(N, t, D)

    def step_self(
        self, x: np.ndarray, k_past: np.ndarray, v_past: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The newest position only. x: (B, 1, D), k_past, v_past: (B, nh, t, dh) ->
        y: (B, 1, D), k, v: (B, nh, t + 1, dh). Every past position is visible, so no mask."""
        B = x.shape[0]
        q, k, v = self.qkv.apply(x).reshape(B, 1, 3, self.n_heads, -1).transpose(2, 0, 3, 1, 4)
        k = np.concatenate([k_past, k], axis=2)  # (B, nh, t, dh) -> (B, nh, t + 1, dh)
        v = np.concatenate([v_past, v], axis=2)
        return self._attend(q, k, v, None), k, v

    def extra_repr(self) -> str:
        kind = "cross" if self.cross else "self"
        return f"{self.model_size}, n_heads={self.n_heads}, {kind}, dropout={self.dropout.p}"
