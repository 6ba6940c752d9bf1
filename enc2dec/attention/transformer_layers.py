"""Transformer building blocks (Vaswani et al. 2017, section 3): residual sublayers with LayerNorm, encoder and
decoder layers and stacks, token embeddings with sinusoidal or learned positions.

Residual connections come in two orders: post-LN, the paper's y = LN(x + Dropout(f(x))) (section 5.4), and
pre-LN, y = x + Dropout(f(LN(x))) (Xiong et al. 2020), which trains stably without a long warm-up; a pre-LN stack
ends with a final LayerNorm, as torch.nn.Transformer's does. The position-wise feed-forward network is
Linear(D, F) -> ReLU or GELU -> Dropout -> Linear(F, D) (eq. 2), a Sequential.

Everything is batch-first, (B, T, D), or packed, (N, D), the N real positions of a padded batch, with a
`masks.Packing` passed along: then only attention sees the padding. Decoding runs `TransformerDecoder.step` on the
newest position only, with each layer's past keys and values (the KV cache) passed in and returned, and the
source's keys and values projected once (`project_memory`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from enc2dec.attention.masks import Packing
from enc2dec.attention.multihead import MultiHeadAttention
from enc2dec.layers import Dropout, Embedding, LayerNorm, Linear, Sequential, activation
from enc2dec.nn.module import Module


class Residual(Module):
    """A sublayer f with its residual connection and LayerNorm: forward(x, *extra) -> y, both (B, T, D).

    pre_norm: y = x + Dropout(f(LN(x), *extra)); else (post-LN) y = LN(x + Dropout(f(x, *extra))).
    backward(dy) returns dx, or (dx, *d_extra) when f's backward returns gradients for its extra float inputs
    (the memory of cross-attention)."""

    def __init__(self, sublayer: Module, size: int, *, rng: np.random.Generator, dropout: float, pre_norm: bool):
        super().__init__()
        self.norm = LayerNorm(size)
        self.sublayer = sublayer
        self.dropout = Dropout(dropout, rng=rng)
        self.pre_norm = pre_norm

    def forward(self, x: np.ndarray, *extra: np.ndarray | None) -> np.ndarray:
        if self.pre_norm:
            return x + self.dropout.forward(self.sublayer.forward(self.norm.forward(x), *extra))
        return self.norm.forward(x + self.dropout.forward(self.sublayer.forward(x, *extra)))

    def backward(self, dy: np.ndarray) -> np.ndarray | tuple[np.ndarray, ...]:
        # pre: dx = dy + LN'(f'(drop'(dy)));  post: dz = LN'(dy), dx = dz + f'(drop'(dz))
        dz = dy if self.pre_norm else self.norm.backward(dy)
        grads = self.sublayer.backward(self.dropout.backward(dz))
        d_in, *d_extra = grads if isinstance(grads, tuple) else (grads,)
        dx = dz + (self.norm.backward(d_in) if self.pre_norm else d_in)
        return (dx, *d_extra) if d_extra else dx

    def infer(self, x: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """The same connection around fn in place of the sublayer, for decoding (eval mode: no dropout).
        Caches nothing."""
        if self.pre_norm:
            return x + fn(self.norm.apply(x))
        return self.norm.apply(x + fn(x))

    def extra_repr(self) -> str:
        return f"{'pre' if self.pre_norm else 'post'}-LN, {self.sublayer!r}"


def feed_forward(model_size: int, ff_size: int, *, rng: np.random.Generator, act: str, dropout: float) -> Sequential:
    """Position-wise FFN(x) = act(x W1 + b1) W2 + b2 (eq. 2), dropout after the activation as in PyTorch."""
    return Sequential(
        Linear(model_size, ff_size, rng=rng),
        activation(act),
        Dropout(dropout, rng=rng),
        Linear(ff_size, model_size, rng=rng),
    )


class TransformerEncoderLayer(Module):
    """x: (B, S, D), mask: (B, 1, S) bool (True at real positions) -> y: (B, S, D). Self-attention, then FFN.
    With packing (masks.Packing): x and y are (N, D), the real positions."""

    def __init__(
        self,
        model_size: int,
        n_heads: int,
        ff_size: int,
        *,
        rng: np.random.Generator,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        activation: str = "relu",
        pre_norm: bool = True,
    ):
        super().__init__()
        attn = MultiHeadAttention(model_size, n_heads, rng=rng, dropout=attention_dropout)
        ff = feed_forward(model_size, ff_size, rng=rng, act=activation, dropout=dropout)
        self.self_attn = Residual(attn, model_size, rng=rng, dropout=dropout, pre_norm=pre_norm)
        self.ff = Residual(ff, model_size, rng=rng, dropout=dropout, pre_norm=pre_norm)

    def forward(self, x: np.ndarray, mask: np.ndarray | None = None, packing: Packing | None = None) -> np.ndarray:
        return self.ff.forward(self.self_attn.forward(x, mask, packing))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return self.self_attn.backward(self.ff.backward(dy))


class TransformerDecoderLayer(Module):
    """x: (B, T, D), memory: (B, S, D), self_mask: (T, T) causal, memory_mask: (B, 1, S) -> y: (B, T, D).
    Causal self-attention, cross-attention over the memory, FFN; backward returns (dx, d_memory). With packing
    and memory_packing (masks.Packing), x, y and memory are packed: (N_T, D) and (N_S, D)."""

    def __init__(
        self,
        model_size: int,
        n_heads: int,
        ff_size: int,
        *,
        rng: np.random.Generator,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        activation: str = "relu",
        pre_norm: bool = True,
    ):
        super().__init__()
        kw = dict(rng=rng, dropout=dropout, pre_norm=pre_norm)
        self_attn = MultiHeadAttention(model_size, n_heads, rng=rng, dropout=attention_dropout)
        cross_attn = MultiHeadAttention(model_size, n_heads, rng=rng, dropout=attention_dropout, cross=True)
        ff = feed_forward(model_size, ff_size, rng=rng, act=activation, dropout=dropout)
        self.self_attn = Residual(self_attn, model_size, **kw)
        self.cross_attn = Residual(cross_attn, model_size, **kw)
        self.ff = Residual(ff, model_size, **kw)

    def forward(
        self,
        x: np.ndarray,
        memory: np.ndarray,
        self_mask: np.ndarray | None = None,
        memory_mask: np.ndarray | None = None,
        packing: Packing | None = None,
        memory_packing: Packing | None = None,
    ) -> np.ndarray:
        h = self.self_attn.forward(x, self_mask, packing)
        return self.ff.forward(self.cross_attn.forward(h, memory, memory_mask, packing, memory_packing))

    def backward(self, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dh, d_memory = self.cross_attn.backward(self.ff.backward(dy))
        return self.self_attn.backward(dh), d_memory

    def step(
        self,
        x: np.ndarray,
        k_past: np.ndarray,
        v_past: np.ndarray,
        k_mem: np.ndarray,
        v_mem: np.ndarray,
        mask: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The newest position: x: (N, 1, D), k_past, v_past: (N, nh, t, dh); k_mem, v_mem: (n, nh, S, dh) and
        mask: (n, 1, S) of the n sentences whose hypotheses x holds (N / n of each, adjacent; see
        MultiHeadAttention.step_cross) -> y: (N, 1, D), k, v: (N, nh, t + 1, dh)."""
        kv: list[np.ndarray] = []

        def attend_past(a: np.ndarray) -> np.ndarray:
            y, k, v = self.self_attn.sublayer.step_self(a, k_past, v_past)
            kv.extend((k, v))
            return y

        h = self.self_attn.infer(x, attend_past)
        h = self.cross_attn.infer(h, lambda a: self.cross_attn.sublayer.step_cross(a, k_mem, v_mem, mask))
        return self.ff.infer(h, self.ff.sublayer.apply), kv[0], kv[1]


def _stack(layer: type, n_layers: int, model_size: int, pre_norm: bool, **kw) -> tuple[list, LayerNorm | None]:
    layers = [layer(model_size, pre_norm=pre_norm, **kw) for _ in range(n_layers)]
    return layers, LayerNorm(model_size) if pre_norm else None


class TransformerEncoder(Module):
    """n_layers encoder layers, then a final LayerNorm when pre-LN. x: (B, S, D), mask: (B, 1, S) -> memory;
    or x: (N, D) with packing -> memory: (N, D)."""

    def __init__(self, n_layers: int, model_size: int, n_heads: int, ff_size: int, *, pre_norm: bool = True, **kw):
        super().__init__()
        self.layers, self.final_norm = _stack(
            TransformerEncoderLayer, n_layers, model_size, pre_norm, n_heads=n_heads, ff_size=ff_size, **kw
        )

    def forward(self, x: np.ndarray, mask: np.ndarray | None = None, packing: Packing | None = None) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, mask, packing)
        return self.final_norm.forward(x) if self.final_norm is not None else x

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self.final_norm is not None:
            dy = self.final_norm.backward(dy)
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy


class TransformerDecoder(Module):
    """n_layers decoder layers, then a final LayerNorm when pre-LN. x: (B, T, D), memory: (B, S, D),
    self_mask: (T, T), memory_mask: (B, 1, S) -> h: (B, T, D); backward returns (dx, d_memory). Packed with
    packing and memory_packing as in TransformerDecoderLayer."""

    def __init__(self, n_layers: int, model_size: int, n_heads: int, ff_size: int, *, pre_norm: bool = True, **kw):
        super().__init__()
        self.layers, self.final_norm = _stack(
            TransformerDecoderLayer, n_layers, model_size, pre_norm, n_heads=n_heads, ff_size=ff_size, **kw
        )

    def forward(
        self,
        x: np.ndarray,
        memory: np.ndarray,
        self_mask: np.ndarray | None = None,
        memory_mask: np.ndarray | None = None,
        packing: Packing | None = None,
        memory_packing: Packing | None = None,
    ) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, memory, self_mask, memory_mask, packing, memory_packing)
        return self.final_norm.forward(x) if self.final_norm is not None else x

    def backward(self, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.final_norm is not None:
            dy = self.final_norm.backward(dy)
        d_memory = None
        for layer in reversed(self.layers):
            dy, dm = layer.backward(dy)
            d_memory = dm if d_memory is None else d_memory + dm
        return dy, d_memory

    def step(self, x: np.ndarray, caches: list[tuple[np.ndarray, ...]], mask: np.ndarray) -> tuple[np.ndarray, list]:
        """x: (N, 1, D); caches: per layer (k_past, v_past, k_mem, v_mem), mask: as TransformerDecoderLayer.step
        -> h: (N, 1, D), per layer (k, v). Caches nothing for backward."""
        new = []
        for layer, cache in zip(self.layers, caches):
            x, k, v = layer.step(x, *cache, mask)
            new.append((k, v))
        h = self.final_norm.apply(x) if self.final_norm is not None else x
        return h, new


def sinusoid_table(n_positions: int, size: int) -> np.ndarray:
    """(n_positions, size) float32: PE[p, 2i] = sin(p / 10000^(2i/size)), PE[p, 2i+1] = cos(...) (section 3.5)."""
    position = np.arange(n_positions, dtype=np.float64)[:, None]  # (P, 1)
    freq = np.exp(-math.log(10000.0) * np.arange(0, size, 2, dtype=np.float64) / size)  # (ceil(size/2),)
    table = np.zeros((n_positions, size), dtype=np.float64)
    table[:, 0::2] = np.sin(position * freq)
    table[:, 1::2] = np.cos(position * freq[: size // 2])
    return table.astype(np.float32)


class TokenEmbedding(Module):
    """ids: (B, T) int -> x = Dropout(E[ids] * scale + P[:T]): (B, T, D); P sinusoidal (fixed) or learned.

    `tokens` may share its weight Parameter with another embedding or the output projection (tied weights add
    their gradients into the one .grad)."""

    def __init__(
        self,
        tokens: Embedding,
        *,
        rng: np.random.Generator,
        positions: str = "sinusoidal",
        max_positions: int = 512,
        scale: float = 1.0,
        dropout: float = 0.0,
    ):
        super().__init__()
        if positions not in ("sinusoidal", "learned"):
            raise ValueError(f"TokenEmbedding: positions must be 'sinusoidal' or 'learned', got {positions!r}")
        size = tokens.weight.shape[1]
        self.tokens = tokens
        self.positions = Embedding(max_positions, size, rng=rng) if positions == "learned" else None
        if self.positions is not None:
            self.positions.weight.value *= 0.02  # small next to the scaled tokens (BERT and GPT-2 use 0.02)
        self._table = sinusoid_table(max_positions, size) if positions == "sinusoidal" else None
        self.max_positions = max_positions
        self.scale = float(scale)
        self.dropout = Dropout(dropout, rng=rng)

    def _position_rows(self, start: int, stop: int) -> np.ndarray:
        """(stop - start, D): the position vectors of positions start .. stop - 1 (no caches)."""
        if stop > self.max_positions:
            if self.positions is not None:
                raise ValueError(f"{self!r}: position {stop - 1} is past max_positions={self.max_positions}")
            self._table, self.max_positions = sinusoid_table(2 * stop, self._table.shape[1]), 2 * stop
        table = self._table if self.positions is None else self.positions.weight.value
        return table[start:stop].astype(self.tokens.weight.dtype, copy=False)

    def forward(self, ids: np.ndarray) -> np.ndarray:
        T = ids.shape[1]
        rows = self._position_rows(0, T)  # (T, D); checks T against max_positions
        x = self.tokens.forward(ids) * self.scale  # (B, T) -> (B, T, D)
        x += self.positions.forward(np.arange(T)) if self.positions is not None else rows  # broadcast over B
        return self.dropout.forward(x)

    def backward(self, dy: np.ndarray) -> tuple[()]:
        # x = E[ids] * scale + P[:T]  =>  dE[ids] += dx * scale, dP[:T] += sum_B dx
        dx = self.dropout.backward(dy)
        if self.positions is not None:
            self.positions.backward(dx.sum(axis=0))
        self.tokens.backward(dx * self.scale)
        return ()

    def step(self, ids: np.ndarray, t: int) -> np.ndarray:
        """Position t only, eval mode: ids: (B,) -> (B, 1, D). Caches nothing."""
        x = self.tokens.weight.value[ids] * self.scale + self._position_rows(t, t + 1)  # (B, D)
        return x[:, None, :]  # (B, D) -> (B, 1, D)

    def extra_repr(self) -> str:
        kind = "sinusoidal" if self.positions is None else "learned"
        return f"{self.tokens!r}, {kind} positions, scale={self.scale:.3g}"
