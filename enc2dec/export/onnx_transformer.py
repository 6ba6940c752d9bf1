"""ONNX graphs of the Transformer (`enc2dec.models.transformer`), on the builder of `onnx.py`.

Encoder graph: src_ids (B, S), src_lengths (B,) -> the decoder's first state as `Transformer.encode` gives it:
src_mask (B, S) bool; per decoder layer l the cross-attention keys and values "k_mem.l", "v_mem.l" (B, nh, S, dh),
projected once from the memory (zero at padding, as enc2dec's packed encoder leaves it), and empty self-attention
caches "k_self.l", "v_self.l" (B, nh, 0, dh).

Decoder graph, one step: prev_ids (N,), the self-attention caches "k_self.l", "v_self.l" (N, nh, t, dh) of N
hypotheses, and the source side of the n sentences they belong to, N / n of each, adjacent: src_mask (n, S),
"k_mem.l", "v_mem.l" (n, nh, S, dh) -> log_probs (N, V) and "next_k_self.l", "next_v_self.l" (N, nh, t + 1, dh),
each cache grown by this step's key and value. A sentence's hypotheses attend to its keys together, as
`MultiHeadAttention.step_cross` does. The step's position t is the caches' length (as `Transformer.step` reads
it). The runtime keeps the source side once per sentence and in that order, as `Transformer.step` does (the
manifest's "shared" names, `enc2dec.specials.group_by_sentence`).

Pre-LN (final LayerNorm on each stack) and post-LN; ReLU or GELU (tanh approximation); tied or untied output;
learned positions (a table: decoding stops at max_positions, which the manifest's `limits` passes on) or
sinusoidal ones computed in the graph in float64 as `sinusoid_table` does (sin at even columns, cos at odd ones),
so any length works. Attention masks with Where(-inf) before Softmax: weights exactly 0 at padding.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from enc2dec.export.onnx import BOOL, FLOAT, INT64, Graph, _dense_stack, _onnx, _projection

DOUBLE = 11  # onnx.TensorProto.DOUBLE


def _scalar(g: Graph, value: float | int, dtype: type = np.float32) -> str:
    return g.const(np.array(value, dtype=dtype))


def _norm(g: Graph, x: str, norm: Any) -> str:
    w, b = g.const(norm.weight.value, "ln_weight"), g.const(norm.bias.value, "ln_bias")
    return g.node("LayerNormalization", [x, w, b], axis=-1, epsilon=float(norm.eps))


def _residual(g: Graph, x: str, residual: Any, fn: Any) -> str:
    """x + fn(LN(x)) (pre-LN) or LN(x + fn(x)) (post-LN), as Residual.infer."""
    if residual.pre_norm:
        return g.node("Add", [x, fn(_norm(g, x, residual.norm))])
    return _norm(g, g.node("Add", [x, fn(x)]), residual.norm)


def _attend(g: Graph, attn: Any, q: str, k: str, v: str, mask: str | None) -> str:
    """q: (B, nh, T, dh) unscaled, k, v: (B, nh, S, dh), mask: broadcastable to (B, nh, T, S) bool or None
    -> (B, nh, T, dh) -> (B, T, D) through the output projection, as MultiHeadAttention._attend."""
    scores = g.node("MatMul", [g.node("Mul", [q, _scalar(g, attn.scale)]), g.node("Transpose", [k], perm=[0, 1, 3, 2])])
    if mask is not None:
        scores = g.node("Where", [mask, scores, _scalar(g, -np.inf)])
    c = g.node("MatMul", [g.node("Softmax", [scores], axis=-1), v])  # (B, nh, T, dh)
    c = g.node("Reshape", [g.node("Transpose", [c], perm=[0, 2, 1, 3]), g.ints(0, 0, attn.model_size)])  # (B, T, D)
    return _projection(g, c, attn.out)


def _split(g: Graph, x: str, n: int, attn: Any) -> list[str]:
    """x: (B, T, n D), laid out [part 0 | part 1 ...] -> n arrays (B, nh, T, dh)."""
    nh = attn.n_heads
    parts = g.node("Reshape", [x, g.ints(0, 0, n, nh, attn.model_size // nh)])  # (B, T, n, nh, dh)
    parts = g.node("Transpose", [parts], perm=[2, 0, 3, 1, 4])  # (n, B, nh, T, dh)
    return [g.node("Gather", [parts, g.const(np.array(i, dtype=np.int64))], axis=0) for i in range(n)]


def _positions(g: Graph, embed: Any, p: str) -> str:
    """p: (P,) int64 positions -> (P, D) float32 position vectors of a TokenEmbedding."""
    if embed.positions is not None:  # learned
        return g.node("Gather", [g.const(embed.positions.weight.value, "positions"), p])
    D = embed.tokens.weight.shape[1]
    freq = np.exp(-math.log(10000.0) * np.arange(0, D, 2, dtype=np.float64) / D)  # as sinusoid_table
    angle = g.node("Mul", [g.node("Unsqueeze", [g.node("Cast", [p], to=DOUBLE), g.ints(1)]), g.const(freq, "freq")])
    pair = [g.node("Unsqueeze", [g.node(op, [angle]), g.ints(2)]) for op in ("Sin", "Cos")]  # (P, ceil(D/2), 1)
    table = g.node("Reshape", [g.node("Concat", pair, axis=2), g.ints(0, -1)])  # sin, cos interleaved
    table = g.node("Slice", [table, g.ints(0), g.ints(D), g.ints(1)])  # odd D: drop the last cos
    return g.node("Cast", [table], to=FLOAT)


def _embed(g: Graph, embed: Any, ids: str, p: str) -> str:
    """ids: (B, T) or (B,), p: (T,) or (1,) -> E[ids] * scale + P[p]: (B, T, D) or (B, D)."""
    x = g.node("Gather", [g.const(embed.tokens.weight.value, "embedding"), ids])
    return g.node("Add", [g.node("Mul", [x, _scalar(g, embed.scale)]), _positions(g, embed, p)])


def _range(g: Graph, n: str) -> str:
    """n: () int64 -> (n,) 0 .. n - 1."""
    return g.node("Range", [_scalar(g, 0, np.int64), n, _scalar(g, 1, np.int64)])


def _encoder_graph(model: Any) -> Graph:
    c = model.config
    nh, D = c.n_heads, c.model_size
    g = Graph("encoder")
    src = g.input("src_ids", INT64, ["B", "S"])
    lengths = g.input("src_lengths", INT64, ["B"])
    shape = g.node("Shape", [src])
    positions = _range(g, g.node("Gather", [shape, _scalar(g, 1, np.int64)]))  # (S,)
    mask = g.node("Less", [g.node("Unsqueeze", [positions, g.ints(0)]), g.node("Unsqueeze", [lengths, g.ints(1)])])
    head_mask = g.node("Unsqueeze", [mask, g.ints(1, 2)])  # (B, S) -> (B, 1, 1, S)
    x = _embed(g, model.src_embed, src, positions)  # (B, S, D)
    for layer in model.encoder.layers:
        attn = layer.self_attn.sublayer

        def self_attend(a: str, attn: Any = attn) -> str:
            q, k, v = _split(g, _projection(g, a, attn.qkv), 3, attn)
            return _attend(g, attn, q, k, v, head_mask)

        x = _residual(g, x, layer.self_attn, self_attend)
        x = _residual(g, x, layer.ff, lambda a, layer=layer: _dense_stack(g, a, layer.ff.sublayer))
    if model.encoder.final_norm is not None:
        x = _norm(g, x, model.encoder.final_norm)
    memory = g.node("Mul", [x, g.node("Unsqueeze", [g.node("Cast", [mask], to=FLOAT), g.ints(2)])])  # 0 at padding
    g.output(mask, "src_mask", BOOL, ["B", "S"])
    batch = g.node("Slice", [shape, g.ints(0), g.ints(1), g.ints(0)])  # (1,): B
    empty_shape = g.node("Concat", [batch, g.ints(nh, 0, D // nh)], axis=0)
    zero = _onnx().helper.make_tensor("zero", FLOAT, [1], [0.0])
    for i, layer in enumerate(model.decoder.layers):
        attn = layer.cross_attn.sublayer
        k, v = _split(g, _projection(g, memory, attn.kv), 2, attn)
        g.output(k, f"k_mem.{i}", FLOAT, ["B", nh, "S", D // nh])
        g.output(v, f"v_mem.{i}", FLOAT, ["B", nh, "S", D // nh])
        for kind in ("k_self", "v_self"):
            g.output(g.node("ConstantOfShape", [empty_shape], value=zero), f"{kind}.{i}", FLOAT, ["B", nh, 0, D // nh])
    return g


def _decoder_graph(model: Any) -> Graph:
    c = model.config
    nh, dh = c.n_heads, c.model_size // c.n_heads
    V = model.tgt_embed.tokens.weight.shape[0]
    n = len(model.decoder.layers)
    g = Graph("decoder")
    prev = g.input("prev_ids", INT64, ["B"])
    mask = g.input("src_mask", BOOL, ["n", "S"])
    caches = {}
    for i in range(n):
        for kind, rows, length in (
            ("k_self", "B", "t"),
            ("v_self", "B", "t"),
            ("k_mem", "n", "S"),
            ("v_mem", "n", "S"),
        ):
            caches[f"{kind}.{i}"] = g.input(f"{kind}.{i}", FLOAT, [rows, nh, length, dh])
    by_sentence = g.node("Concat", [g.node("Shape", [mask], end=1), g.ints(-1, c.model_size)], axis=0)  # (n, -1, D)
    t = g.node("Slice", [g.node("Shape", [caches["k_self.0"]]), g.ints(2), g.ints(3), g.ints(0)])  # (1,): t
    x = g.node("Unsqueeze", [_embed(g, model.tgt_embed, prev, t), g.ints(1)])  # (B, D) -> (B, 1, D)
    head_mask = g.node("Unsqueeze", [mask, g.ints(1, 2)])  # (n, S) -> (n, 1, 1, S)
    grown: list[str] = []  # per layer: next_k_self, next_v_self
    for i, layer in enumerate(model.decoder.layers):

        def attend_past(a: str, attn: Any = layer.self_attn.sublayer, i: int = i, grown: list = grown) -> str:
            q, k, v = _split(g, _projection(g, a, attn.qkv), 3, attn)  # 3 x (B, nh, 1, dh)
            k = g.node("Concat", [caches[f"k_self.{i}"], k], axis=2)  # (B, nh, t, dh) -> (B, nh, t + 1, dh)
            v = g.node("Concat", [caches[f"v_self.{i}"], v], axis=2)
            grown.extend((k, v))
            return _attend(g, attn, q, k, v, None)

        def attend_source(a: str, attn: Any = layer.cross_attn.sublayer, i: int = i) -> str:
            queries = g.node("Reshape", [_projection(g, a, attn.q), by_sentence])  # (B, 1, D) -> (n, B / n, D)
            (q,) = _split(g, queries, 1, attn)  # (n, nh, B / n, dh)
            y = _attend(g, attn, q, caches[f"k_mem.{i}"], caches[f"v_mem.{i}"], head_mask)  # (n, B / n, D)
            return g.node("Reshape", [y, g.ints(-1, 1, c.model_size)])  # (B, 1, D)

        x = _residual(g, x, layer.self_attn, attend_past)
        x = _residual(g, x, layer.cross_attn, attend_source)
        x = _residual(g, x, layer.ff, lambda a, layer=layer: _dense_stack(g, a, layer.ff.sublayer))
    if model.decoder.final_norm is not None:
        x = _norm(g, x, model.decoder.final_norm)
    h = g.node("Squeeze", [x, g.ints(1)])  # (B, 1, D) -> (B, D)
    logits = _projection(g, h, model.output)
    g.output(g.node("LogSoftmax", [logits], axis=1), "log_probs", FLOAT, ["B", V])  # first: the runtime's rule
    for i in range(n):
        g.output(grown[2 * i], f"next_k_self.{i}", FLOAT, ["B", nh, "t + 1", dh])
        g.output(grown[2 * i + 1], f"next_v_self.{i}", FLOAT, ["B", nh, "t + 1", dh])
    return g


def export_transformer(model: Any, out_dir: str | Path) -> dict[str, Any]:
    """A Transformer -> encoder.onnx and decoder.onnx (one step with the KV cache) in out_dir; their manifest
    entries, the state's names, and the length limits of learned positions (None: sinusoidal, unlimited)."""
    out = Path(out_dir)
    n = len(model.decoder.layers)
    names = ["src_mask"] + [f"{kind}.{i}" for i in range(n) for kind in ("k_mem", "v_mem", "k_self", "v_self")]
    limits = {"max_source_length": model.max_source_length, "max_target_length": model.max_target_length}
    return {
        "encoder": _encoder_graph(model).save(out),
        "decoder": _decoder_graph(model).save(out),
        "state": names,
        "shared": list(model.shared_state),
        "limits": limits,
    }
