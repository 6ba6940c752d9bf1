"""Multi-head attention and Transformer layers and stacks against PyTorch given the same weights: forward, input
gradients and weight gradients (skipped without torch). PyTorch stores Linear weights as (out, in), enc2dec as
(in, out); its in_proj packs [q; k; v] by rows, as enc2dec's qkv packs [q | k | v] by columns."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.attention.masks import causal_mask, padding_mask
from enc2dec.attention.multihead import MultiHeadAttention
from enc2dec.attention.transformer_layers import (
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from enc2dec.layers import LayerNorm, Linear

torch = pytest.importorskip("torch")
F = torch.nn.functional

D, NH, FF, B, S, T = 12, 3, 10, 2, 5, 4
SRC_LENGTHS = np.array([5, 3])


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _np(t):
    return t.detach().numpy()


def _close(ours, theirs, rtol=1e-4, atol=1e-5, what=""):
    np.testing.assert_allclose(ours, _np(theirs) if torch.is_tensor(theirs) else theirs, rtol=rtol, atol=atol,
                               err_msg=what)  # fmt: skip


def _linear_from(ours: Linear, weight, bias, rows: slice = slice(None)) -> list[tuple]:
    """Copy torch's weight[rows], bias[rows] into ours; (ours, torch leaf, rows, transposed) pairs for the grads."""
    ours.weight.value = _np(weight[rows]).T.copy()
    ours.bias.value = _np(bias[rows]).copy()
    return [(ours.weight, weight, rows, True), (ours.bias, bias, rows, False)]


def _norm_from(ours: LayerNorm, theirs) -> list[tuple]:
    with torch.no_grad():  # random affine parameters: 1 and 0 would hide errors
        theirs.weight.copy_(torch.randn(D) * 0.5 + 1)
        theirs.bias.copy_(torch.randn(D) * 0.1)
    ours.weight.value, ours.bias.value = _np(theirs.weight).copy(), _np(theirs.bias).copy()
    return [(ours.weight, theirs.weight, slice(None), False), (ours.bias, theirs.bias, slice(None), False)]


def _mha_from(ours: MultiHeadAttention, theirs) -> list[tuple]:
    w, b = theirs.in_proj_weight, theirs.in_proj_bias
    if ours.cross:
        pairs = _linear_from(ours.q, w, b, slice(None, D)) + _linear_from(ours.kv, w, b, slice(D, None))
    else:
        pairs = _linear_from(ours.qkv, w, b)
    return pairs + _linear_from(ours.out, theirs.out_proj.weight, theirs.out_proj.bias)


def _ff_from(ours, theirs) -> list[tuple]:
    return _linear_from(ours.sublayer[0], theirs.linear1.weight, theirs.linear1.bias) + _linear_from(
        ours.sublayer[3], theirs.linear2.weight, theirs.linear2.bias
    )


def _encoder_layer_from(ours: TransformerEncoderLayer, theirs) -> list[tuple]:
    return (
        _mha_from(ours.self_attn.sublayer, theirs.self_attn)
        + _ff_from(ours.ff, theirs)
        + _norm_from(ours.self_attn.norm, theirs.norm1)
        + _norm_from(ours.ff.norm, theirs.norm2)
    )


def _decoder_layer_from(ours: TransformerDecoderLayer, theirs) -> list[tuple]:
    return (
        _mha_from(ours.self_attn.sublayer, theirs.self_attn)
        + _mha_from(ours.cross_attn.sublayer, theirs.multihead_attn)
        + _ff_from(ours.ff, theirs)
        + _norm_from(ours.self_attn.norm, theirs.norm1)
        + _norm_from(ours.cross_attn.norm, theirs.norm2)
        + _norm_from(ours.ff.norm, theirs.norm3)
    )


def _check_grads(pairs: list[tuple]) -> None:
    for ours, theirs, rows, transposed in pairs:
        expected = _np(theirs.grad[rows]).T if transposed else _np(theirs.grad[rows])
        _close(ours.grad, expected, what=f"gradient of {ours.shape}")


def _inputs():
    x, memory = _rand(B, T, D, seed=1), _rand(B, S, D, seed=2)
    return x, memory, torch.tensor(x, requires_grad=True), torch.tensor(memory, requires_grad=True)


KEY_PADDING = torch.tensor(~padding_mask(SRC_LENGTHS, S))  # torch: True = ignore
CAUSAL = torch.tensor(~causal_mask(T))  # torch: True = not allowed


def test_self_attention_with_padding():
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(D, NH, batch_first=True)
    ours = MultiHeadAttention(D, NH, rng=np.random.default_rng(0))
    pairs = _mha_from(ours, theirs)
    _, memory, _, mt = _inputs()  # self-attention over a padded source
    yt, _ = theirs(mt, mt, mt, key_padding_mask=KEY_PADDING, need_weights=False)
    dy = _rand(B, S, D, seed=3)
    yt.backward(torch.tensor(dy))
    _close(ours.forward(memory, padding_mask(SRC_LENGTHS, S)[:, None, :]), yt)
    _close(ours.backward(dy), mt.grad)
    _check_grads(pairs)


def test_causal_self_attention_and_cross_attention():
    torch.manual_seed(1)
    theirs_self = torch.nn.MultiheadAttention(D, NH, batch_first=True)
    theirs_cross = torch.nn.MultiheadAttention(D, NH, batch_first=True)
    ours_self = MultiHeadAttention(D, NH, rng=np.random.default_rng(0))
    ours_cross = MultiHeadAttention(D, NH, rng=np.random.default_rng(0), cross=True)
    pairs = _mha_from(ours_self, theirs_self) + _mha_from(ours_cross, theirs_cross)
    x, memory, xt, mt = _inputs()
    ht, _ = theirs_self(xt, xt, xt, attn_mask=CAUSAL, need_weights=False)
    yt, _ = theirs_cross(ht, mt, mt, key_padding_mask=KEY_PADDING, need_weights=False)
    dy = _rand(B, T, D, seed=3)
    yt.backward(torch.tensor(dy))
    h = ours_self.forward(x, causal_mask(T))
    _close(ours_cross.forward(h, memory, padding_mask(SRC_LENGTHS, S)[:, None, :]), yt)
    dh, d_memory = ours_cross.backward(dy)
    _close(ours_self.backward(dh), xt.grad)
    _close(d_memory, mt.grad)
    _check_grads(pairs)


@pytest.mark.parametrize("norm_first", [True, False])
def test_encoder_layer(norm_first):
    torch.manual_seed(2)
    theirs = torch.nn.TransformerEncoderLayer(D, NH, FF, dropout=0.0, batch_first=True, norm_first=norm_first)
    ours = TransformerEncoderLayer(D, NH, FF, rng=np.random.default_rng(0), pre_norm=norm_first)
    pairs = _encoder_layer_from(ours, theirs)
    _, memory, _, mt = _inputs()
    yt = theirs(mt, src_key_padding_mask=KEY_PADDING)
    dy = _rand(B, S, D, seed=3) * padding_mask(SRC_LENGTHS, S)[:, :, None]  # torch zeroes padded rows' outputs
    yt.backward(torch.tensor(dy))
    y = ours.forward(memory, padding_mask(SRC_LENGTHS, S)[:, None, :])
    real = padding_mask(SRC_LENGTHS, S)
    _close(y[real], yt[torch.tensor(real)])
    _close(ours.backward(dy), mt.grad)
    _check_grads(pairs)


@pytest.mark.parametrize("norm_first", [True, False])
def test_decoder_layer_gelu(norm_first):
    """enc2dec's GELU is the tanh approximation: torch gets it as a callable activation."""
    torch.manual_seed(3)
    gelu = lambda x: F.gelu(x, approximate="tanh")  # noqa: E731
    theirs = torch.nn.TransformerDecoderLayer(
        D, NH, FF, dropout=0.0, activation=gelu, batch_first=True, norm_first=norm_first
    )
    ours = TransformerDecoderLayer(D, NH, FF, rng=np.random.default_rng(0), activation="gelu", pre_norm=norm_first)
    pairs = _decoder_layer_from(ours, theirs)
    x, memory, xt, mt = _inputs()
    yt = theirs(xt, mt, tgt_mask=CAUSAL, memory_key_padding_mask=KEY_PADDING)
    dy = _rand(B, T, D, seed=3)
    yt.backward(torch.tensor(dy))
    _close(ours.forward(x, memory, causal_mask(T), padding_mask(SRC_LENGTHS, S)[:, None, :]), yt)
    dx, d_memory = ours.backward(dy)
    _close(dx, xt.grad)
    _close(d_memory, mt.grad)
    _check_grads(pairs)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
def test_pre_ln_stacks_equal_torch_transformer():
    """nn.Transformer(norm_first=True): 2 + 2 layers, each stack ending in a LayerNorm, like enc2dec's pre-LN."""
    torch.manual_seed(4)
    theirs = torch.nn.Transformer(D, NH, 2, 2, FF, dropout=0.0, batch_first=True, norm_first=True)
    rng = np.random.default_rng(0)
    encoder = TransformerEncoder(2, D, NH, FF, rng=rng)
    decoder = TransformerDecoder(2, D, NH, FF, rng=rng)
    pairs = _norm_from(encoder.final_norm, theirs.encoder.norm) + _norm_from(decoder.final_norm, theirs.decoder.norm)
    for ours, layer in zip(encoder.layers, theirs.encoder.layers):
        pairs += _encoder_layer_from(ours, layer)
    for ours, layer in zip(decoder.layers, theirs.decoder.layers):
        pairs += _decoder_layer_from(ours, layer)
    x, src, xt, st = _inputs()
    yt = theirs(st, xt, tgt_mask=CAUSAL, src_key_padding_mask=KEY_PADDING, memory_key_padding_mask=KEY_PADDING)
    dy = _rand(B, T, D, seed=3)
    yt.backward(torch.tensor(dy))
    mask = padding_mask(SRC_LENGTHS, S)[:, None, :]
    memory = encoder.forward(src, mask)
    _close(decoder.forward(x, memory, causal_mask(T), mask), yt)
    dx, d_memory = decoder.backward(dy)
    d_src = encoder.backward(d_memory)
    _close(dx, xt.grad)
    real = padding_mask(SRC_LENGTHS, S)  # torch's nested-tensor path may skip padded rows; compare real ones
    _close(d_src[real], st.grad[torch.tensor(real)])
    _check_grads(pairs)
