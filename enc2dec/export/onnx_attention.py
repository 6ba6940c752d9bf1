"""ONNX graphs of the attention seq2seq (`enc2dec.models.attention_seq2seq`), on the builder of `onnx.py`.

Encoder graph: src_ids (B, S), src_lengths (B,) -> the decoder's first state as `AttentionSeq2Seq.encode` gives it:
h (and c, zeros) (B, L, H) through the bridge, memory (B, S, M), keys (the memory's share of the scores, projected
once), mask (B, S) bool, and feed (B, H) zeros with input feeding. The bidirectional encoder is ONNX's LSTM/GRU/RNN
with direction "bidirectional" and sequence_lens, so the reverse direction starts at each sentence's own end.

Decoder graph, one step: prev_ids (N,), h (, c) (N, L, H), feed (N, H) of N hypotheses, and the memory, keys
and mask of the n sentences they belong to (N / n of each, adjacent) -> log_probs (N, V), next_h (, next_c),
attention (N, S) (the weights, which decoding collects), next_feed with input feeding. A sentence's hypotheses
attend to its memory together, as `AttentionSeq2Seq.step` does; the runtime keeps the source side once per
sentence (the manifest's "shared" names). Luong (dot, general, concat scores; input feeding) and Bahdanau.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from enc2dec.export.onnx import BOOL, FLOAT, INT64, Graph, _batch_major, _onnx, _projection, _stack


def _zeros(g: Graph, like_shape: str) -> str:
    return g.node("ConstantOfShape", [like_shape], value=_onnx().helper.make_tensor("zero", FLOAT, [1], [0.0]))


def _keys(g: Graph, attention: Any, memory: str) -> str:
    """memory: (B, S, M) -> keys, as attention.project_memory."""
    additive = getattr(attention, "additive", None) or (attention if hasattr(attention, "w_memory") else None)
    if additive is not None:  # bahdanau, or luong's concat score
        keys = g.node("MatMul", [memory, g.const(additive.w_memory.value, "w_memory")])
        return g.node("Add", [keys, g.const(additive.bias.value, "attention_bias")])
    if attention.score == "dot":
        return memory
    return g.node("MatMul", [memory, g.const(attention.weight.value, "w_general")])


def _attend(g: Graph, attention: Any, query: str, keys: str, memory: str, mask: str) -> tuple[str, str]:
    """query: (N, Hq) of N hypotheses, keys, memory, mask: those of their n sentences (N / n hypotheses each,
    adjacent) -> context (N, M), weights (N, S): masked softmax of the scores, as attention.attend."""
    additive = getattr(attention, "additive", None) or (attention if hasattr(attention, "w_memory") else None)

    def by_sentence(x: str) -> str:  # (N, w) -> (n, N / n, w)
        shape = [g.node("Shape", [memory], end=1), g.ints(-1), g.node("Shape", [x], start=1)]
        return g.node("Reshape", [x, g.node("Concat", shape, axis=0)])

    if additive is not None:  # v . tanh(keys + query w_query)
        q = by_sentence(g.node("MatMul", [query, g.const(additive.w_query.value, "w_query")]))  # (n, N / n, A)
        e = g.node("Add", [g.node("Unsqueeze", [keys, g.ints(1)]), g.node("Unsqueeze", [q, g.ints(2)])])
        scores = g.node("MatMul", [g.node("Tanh", [e]), g.const(additive.v.value, "v")])  # (n, N / n, S)
    else:  # query . keys
        scores = g.node("MatMul", [by_sentence(query), g.node("Transpose", [keys], perm=[0, 2, 1])])  # (n, N / n, S)
    mask = g.node("Unsqueeze", [mask, g.ints(1)])  # (n, 1, S)
    scores = g.node("Where", [mask, scores, g.const(np.array(-np.inf, dtype=np.float32))])
    weights = g.node("Softmax", [scores], axis=-1)  # exactly 0 where masked
    context = g.node("MatMul", [weights, memory])  # (n, N / n, M)
    return g.node("Flatten", [context], axis=2), g.node("Flatten", [weights], axis=2)  # (N, M), (N, S)


def export_attention_seq2seq(model: Any, out_dir: str | Path) -> dict[str, Any]:
    """An AttentionSeq2Seq -> encoder.onnx and decoder.onnx (one step) in out_dir; their manifest entries."""
    out = Path(out_dir)
    c = model.config
    L, H, M = c.decoder_layers, c.hidden_size, c.memory_size
    V = model.output.bias.shape[0]
    rnn_names = ["h", "c"] if model.decoder.has_cell else ["h"]
    K = model.attention.project_memory(np.zeros((1, 1, M), dtype=np.float32)).shape[-1]  # keys' width

    g = Graph("encoder")
    src = g.input("src_ids", INT64, ["B", "S"])
    lengths = g.input("src_lengths", INT64, ["B"])
    x = g.node("Gather", [g.const(model.src_embed.weight.value, "src_embed"), g.node("Transpose", [src], perm=[1, 0])])
    y, finals = _stack(g, x, model.encoder, g.node("Cast", [lengths], to=6), {})  # y: (S, B, M)
    memory = g.node("Transpose", [y], perm=[1, 0, 2])  # (B, S, M)
    D = model.encoder.n_directions
    n = c.encoder_layers * D
    top = g.node("Slice", [finals["h"], g.ints(n - D), g.ints(n), g.ints(0)])  # (D, B, M/D): the top layer
    top = g.node("Reshape", [_batch_major(g, top), g.ints(0, -1)])  # (B, M): forward then reverse
    h0 = g.node("Add", [g.node("MatMul", [top, g.const(model.bridge.weight.value, "bridge")]),
                        g.const(model.bridge.bias.value, "bridge_bias")])  # fmt: skip
    h0 = g.node("Reshape", [g.node("Tanh", [h0]), g.ints(0, L, H)])  # (B, L, H)
    g.output(h0, "h", FLOAT, ["B", L, H])
    if model.decoder.has_cell:
        g.output(_zeros(g, g.node("Shape", [h0])), "c", FLOAT, ["B", L, H])
    g.output(memory, "memory", FLOAT, ["B", "S", M])
    g.output(_keys(g, model.attention, memory), "keys", FLOAT, ["B", "S", K])
    S = g.node("Gather", [g.node("Shape", [src]), g.const(np.array(1, dtype=np.int64))])
    t = g.node("Unsqueeze", [g.node("Range", [g.const(np.array(0, dtype=np.int64)), S,
                                              g.const(np.array(1, dtype=np.int64))]), g.ints(0)])  # fmt: skip
    g.output(g.node("Less", [t, g.node("Unsqueeze", [lengths, g.ints(1)])]), "mask", BOOL, ["B", "S"])
    if c.input_feeding:
        B = g.node("Slice", [g.node("Shape", [src]), g.ints(0), g.ints(1), g.ints(0)])
        g.output(_zeros(g, g.node("Concat", [B, g.ints(H)], axis=0)), "feed", FLOAT, ["B", H])
    encoder = g.save(out)

    g = Graph("decoder")
    x = g.node("Gather", [g.const(model.tgt_embed.weight.value, "tgt_embed"), g.input("prev_ids", INT64, ["B"])])
    states = {name: g.input(name, FLOAT, ["B", L, H]) for name in rnn_names}
    memory = g.input("memory", FLOAT, ["n", "S", M])
    keys = g.input("keys", FLOAT, ["n", "S", K])
    mask = g.input("mask", BOOL, ["n", "S"])
    feed = g.input("feed", FLOAT, ["B", H]) if c.input_feeding else None
    initial = {}
    for name, s in states.items():
        s = _batch_major(g, s)  # (L, B, H)
        initial[name] = [g.node("Slice", [s, g.ints(i), g.ints(i + 1), g.ints(0)]) for i in range(L)]
    if c.attention == "bahdanau":  # attend with the top layer's previous state, then read [y; context]
        s_prev = g.node("Gather", [states["h"], g.const(np.array(L - 1, dtype=np.int64))], axis=1)  # (B, H)
        context, weights = _attend(g, model.attention, s_prev, keys, memory, mask)
        x = g.node("Concat", [x, context], axis=1)
    elif feed is not None:
        x = g.node("Concat", [x, feed], axis=1)
    y, finals = _stack(g, g.node("Unsqueeze", [x, g.ints(0)]), model.decoder, "", initial)
    s = g.node("Squeeze", [y, g.ints(0)])  # (B, H)
    if c.attention != "bahdanau":  # luong: attend with the new state
        context, weights = _attend(g, model.attention, s, keys, memory, mask)
    combined = g.node("MatMul", [g.node("Concat", [context, s], axis=1), g.const(model.combine.weight.value, "W_c")])
    combined = g.node("Tanh", [g.node("Add", [combined, g.const(model.combine.bias.value, "b_c")])])  # (B, H)
    logits = _projection(g, combined, model.output)
    g.output(g.node("LogSoftmax", [logits], axis=1), "log_probs", FLOAT, ["B", V])
    for name in rnn_names:
        g.output(_batch_major(g, finals[name]), f"next_{name}", FLOAT, ["B", L, H])
    g.output(weights, "attention", FLOAT, ["B", "S"])
    if feed is not None:
        g.output(combined, "next_feed", FLOAT, ["B", H])
    names = [*rnn_names, "memory", "keys", "mask", *(["feed"] if feed is not None else [])]
    return {"encoder": encoder, "decoder": g.save(out), "state": names, "shared": list(model.shared_state)}
