"""Attention layers: masks, padding invariance, zero weight and zero gradient at padded positions, the step-wise
pieces against the batched forward, input errors."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.attention import BahdanauAttention, LuongAttention, masked_softmax, padding_mask, softmax_backward
from tests.helpers import randn


def _layers(rng):
    return {
        "bahdanau": BahdanauAttention(5, 6, 3, rng=rng),
        "dot": LuongAttention(6, 6, "dot", rng=rng),
        "general": LuongAttention(5, 6, "general", rng=rng),
        "concat": LuongAttention(5, 6, "concat", attention_size=4, rng=rng),
    }


def test_padding_mask():
    np.testing.assert_array_equal(padding_mask(np.array([2, 0, 3]), 3), [[1, 1, 0], [0, 0, 0], [1, 1, 1]])
    with pytest.raises(ValueError, match=r"padding_mask: lengths must lie in \[0, S=3\]"):
        padding_mask(np.array([4]), 3)


def test_masked_softmax_zero_at_masked_rows_sum_to_one_and_no_nan():
    rng = np.random.default_rng(0)
    scores = randn(rng, 3, 4) * 100
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]], dtype=bool)
    w = masked_softmax(scores, mask)
    assert w.dtype == np.float32
    assert np.all(w[~mask] == 0)
    np.testing.assert_allclose(w.sum(-1), [1, 1, 0], atol=1e-6)
    ds = softmax_backward(w, randn(rng, 3, 4))
    assert np.all(ds[~mask] == 0) and np.isfinite(ds).all()


@pytest.mark.parametrize("kind", ["bahdanau", "dot", "general", "concat"])
def test_padding_changes_nothing_and_padded_memory_gets_no_gradient(kind):
    """A source padded with garbage rows under the mask = the same source alone (outputs and gradients)."""
    rng = np.random.default_rng(1)
    layer = _layers(rng)[kind]
    Hq = layer.query_size
    query, memory = randn(rng, 1, 3, Hq), randn(rng, 1, 2, 6)
    padded = np.concatenate([memory, randn(rng, 1, 3, 6) * 50], axis=1)  # (1, 5, 6)
    d_context = randn(rng, 1, 3, 6)

    context, weights = layer.forward(query, memory, None)
    d_query, d_memory = layer.backward(d_context, None)
    grads = [p.grad.copy() for p in layer.parameters()]
    layer.zero_grad()
    context_p, weights_p = layer.forward(query, padded, padding_mask(np.array([2]), 5))
    d_query_p, d_memory_p = layer.backward(d_context, None)

    np.testing.assert_allclose(context_p, context, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(weights_p[..., :2], weights, rtol=1e-5, atol=1e-7)
    assert np.all(weights_p[..., 2:] == 0)
    np.testing.assert_allclose(d_query_p, d_query, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d_memory_p[:, :2], d_memory, rtol=1e-5, atol=1e-6)
    assert np.all(d_memory_p[:, 2:] == 0)
    for g, p in zip(grads, layer.parameters()):
        np.testing.assert_allclose(p.grad, g, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kind", ["bahdanau", "general", "concat"])
def test_one_step_at_a_time_equals_all_steps_at_once(kind):
    rng = np.random.default_rng(2)
    layer = _layers(rng)[kind]
    query, memory = randn(rng, 2, 3, layer.query_size), randn(rng, 2, 4, 6)
    mask = padding_mask(np.array([4, 2]), 4)
    context, weights = layer.forward(query, memory, mask)
    layer.clear_cache()
    keys = layer.project_memory(memory)
    for t in range(3):
        c, w, _ = layer.attend(query[:, t : t + 1], keys, memory, mask)
        np.testing.assert_allclose(c, context[:, t : t + 1], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(w, weights[:, t : t + 1], rtol=1e-5, atol=1e-7)


def test_packed_positions_equal_the_padded_batch():
    """A decoder stack given packings computes, at the real positions, what it computes on the padded batch: the
    outputs and the gradients of inputs and parameters."""
    from enc2dec.attention.masks import Packing, causal_mask
    from enc2dec.attention.transformer_layers import TransformerDecoder

    rng = np.random.default_rng(0)
    src_len, tgt_len = np.array([5, 2, 4]), np.array([3, 1, 4])
    src, tgt = Packing(src_len, 5), Packing(tgt_len, 4)
    mask, causal = padding_mask(src_len, 5)[:, None, :], causal_mask(4)
    dec = TransformerDecoder(2, 8, 2, 12, rng=rng).astype(np.float64)
    x, memory, dy = (randn(rng, 3, n, 8).astype(np.float64) for n in (4, 5, 4))

    def run(*inputs, d_out):
        dec.zero_grad()
        y = dec.forward(*inputs)
        return (y, *dec.backward(d_out), *[p.grad.copy() for p in dec.parameters()])

    padded = run(x, memory, causal, mask, d_out=tgt.pad(tgt.pack(dy)))  # no gradient from padded positions
    packed = run(tgt.pack(x), src.pack(memory), causal, mask, tgt, src, d_out=tgt.pack(dy))
    assert packed[0].shape == (tgt.n, 8) and packed[2].shape == (src.n, 8)
    np.testing.assert_allclose(packed[0], tgt.pack(padded[0]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(packed[1], tgt.pack(padded[1]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(packed[2], src.pack(padded[2]), rtol=1e-10, atol=1e-12)
    for a, b in zip(packed[3:], padded[3:]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert Packing(np.array([2, 2]), 2).rows is None  # no padding: pack and pad are reshapes


def test_multihead_shape_errors_name_the_input():
    from enc2dec.attention.masks import Packing
    from enc2dec.attention.multihead import MultiHeadAttention

    rng = np.random.default_rng(4)
    packing = Packing(np.array([3, 1]), 3)  # 4 real positions
    self_attn, cross = MultiHeadAttention(6, 2, rng=rng), MultiHeadAttention(6, 2, rng=rng, cross=True)
    with pytest.raises(ValueError, match=r"x must have.*\(B, T, D\)"):
        self_attn.forward(randn(rng, 4, 6))
    with pytest.raises(ValueError, match=r"packed x must have shape \(4, D\), got \(5, 6\)"):
        self_attn.forward(randn(rng, 5, 6), None, packing)
    with pytest.raises(ValueError, match=r"packed memory must have shape \(4, D\), got \(2, 3, 6\)"):
        cross.forward(randn(rng, 4, 6), randn(rng, 2, 3, 6), None, packing, packing)


def test_errors_name_the_layer():
    rng = np.random.default_rng(3)
    layer = LuongAttention(5, 6, "general", rng=rng)
    with pytest.raises(ValueError, match=r"LuongAttention\(general, query 5, memory 6\): query must have shape"):
        layer.forward(randn(rng, 2, 3, 4), randn(rng, 2, 4, 6))
    with pytest.raises(ValueError, match=r"with the same B"):
        layer.forward(randn(rng, 2, 3, 5), randn(rng, 3, 4, 6))
    with pytest.raises(ValueError, match=r"mask must be a bool array of shape \(2, 4\)"):
        layer.forward(randn(rng, 2, 3, 5), randn(rng, 2, 4, 6), np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"score 'dot' needs query_size == memory_size"):
        LuongAttention(5, 6, "dot", rng=rng)
    with pytest.raises(ValueError, match=r"score must be one of"):
        LuongAttention(5, 6, "bilinear", rng=rng)
    with pytest.raises(ValueError, match=r"BahdanauAttention: sizes must be >= 1"):
        BahdanauAttention(5, 6, 0, rng=rng)
