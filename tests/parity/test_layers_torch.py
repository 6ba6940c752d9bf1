"""Forward and backward against PyTorch given the same weights (skipped without torch)."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.layers import GELU, Embedding, LayerNorm, LeakyReLU, Linear, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from enc2dec.losses import MSE, BCEWithLogits, CrossEntropy, GaussianKL
from enc2dec.nn import Parameter
from enc2dec.optim import SGD, Adam, AdamW

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _t(x):
    return torch.tensor(np.asarray(x), requires_grad=np.issubdtype(np.asarray(x).dtype, np.floating))


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _check(ours, theirs, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=rtol, atol=atol)


def test_linear():
    layer = Linear(5, 3, rng=np.random.default_rng(0))
    x, dy = _rand(2, 4, 5), _rand(2, 4, 3, seed=1)
    xt, w, b = _t(x), _t(layer.weight.value.T.copy()), _t(layer.bias.value)
    yt = F.linear(xt, w, b)
    yt.backward(torch.tensor(dy))
    _check(layer.forward(x), yt)
    _check(layer.backward(dy), xt.grad)
    _check(layer.weight.grad, w.grad.T)
    _check(layer.bias.grad, b.grad)


def test_embedding_with_padding():
    emb = Embedding(7, 4, rng=np.random.default_rng(0), padding_idx=0)
    ids, dy = np.array([[0, 3, 3], [6, 0, 1]]), _rand(2, 3, 4)
    w = _t(emb.weight.value)
    yt = F.embedding(torch.tensor(ids), w, padding_idx=0)
    yt.backward(torch.tensor(dy))
    _check(emb.forward(ids), yt)
    emb.backward(dy)
    _check(emb.weight.grad, w.grad)


def test_layer_norm():
    ln = LayerNorm(6)
    ln.weight.value, ln.bias.value = _rand(6, seed=2), _rand(6, seed=3)
    x, dy = _rand(3, 2, 6) * 5 + 1, _rand(3, 2, 6, seed=1)
    xt, w, b = _t(x), _t(ln.weight.value), _t(ln.bias.value)
    yt = F.layer_norm(xt, (6,), w, b, eps=1e-5)
    yt.backward(torch.tensor(dy))
    _check(ln.forward(x), yt)
    _check(ln.backward(dy), xt.grad, rtol=1e-4, atol=1e-5)
    _check(ln.weight.grad, w.grad, rtol=1e-4, atol=1e-5)
    _check(ln.bias.grad, b.grad)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (Sigmoid, torch.sigmoid),
        (Tanh, torch.tanh),
        (ReLU, F.relu),
        (lambda: LeakyReLU(0.1), lambda x: F.leaky_relu(x, 0.1)),
        (GELU, lambda x: F.gelu(x, approximate="tanh")),
        (Softmax, lambda x: F.softmax(x, -1)),
        (LogSoftmax, lambda x: F.log_softmax(x, -1)),
    ],
)
def test_activations(ours, theirs):
    layer = ours()
    x, dy = _rand(3, 5) * 3, _rand(3, 5, seed=1)
    xt = _t(x)
    yt = theirs(xt)
    yt.backward(torch.tensor(dy))
    _check(layer.forward(x), yt)
    _check(layer.backward(dy), xt.grad)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy(smoothing, reduction):
    z, t = _rand(6, 7), np.array([0, 3, 5, 0, 1, 2])
    loss = CrossEntropy(ignore_index=0, smoothing=smoothing, reduction=reduction)
    zt = _t(z)
    lt = F.cross_entropy(zt, torch.tensor(t), ignore_index=0, label_smoothing=smoothing, reduction=reduction)
    lt.backward()
    _check(loss.forward(z, t), lt)
    _check(loss.backward(), zt.grad)


def test_mse_and_bce():
    p, t = _rand(4, 3), np.random.default_rng(1).uniform(size=(4, 3)).astype(np.float32)
    for ours, theirs in (
        (MSE("mean"), F.mse_loss),
        (BCEWithLogits("sum"), lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="sum")),
    ):
        pt = _t(p)
        lt = theirs(pt, torch.tensor(t))
        lt.backward()
        _check(ours.forward(p, t), lt)
        _check(ours.backward(), pt.grad)


def test_gaussian_kl_against_torch_distributions():
    mu, logvar = _rand(4, 3), _rand(4, 3, seed=1)
    mut, lvt = _t(mu), _t(logvar)
    q = torch.distributions.Normal(mut, torch.exp(0.5 * lvt))
    p = torch.distributions.Normal(torch.zeros_like(mut), torch.ones_like(mut))
    lt = torch.distributions.kl_divergence(q, p).sum() / 4
    lt.backward()
    kl = GaussianKL()
    _check(kl.forward(mu, logvar), lt)
    dmu, dlogvar = kl.backward()
    _check(dmu, mut.grad)
    _check(dlogvar, lvt.grad)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (
            lambda ps: SGD(ps, 0.1, momentum=0.9, weight_decay=0.01),
            lambda ps: torch.optim.SGD(ps, 0.1, momentum=0.9, weight_decay=0.01),
        ),
        (
            lambda ps: SGD(ps, 0.1, momentum=0.9, nesterov=True),
            lambda ps: torch.optim.SGD(ps, 0.1, momentum=0.9, nesterov=True),
        ),
        (lambda ps: Adam(ps, 0.01, weight_decay=0.1), lambda ps: torch.optim.Adam(ps, 0.01, weight_decay=0.1)),
        (lambda ps: AdamW(ps, 0.01, weight_decay=0.1), lambda ps: torch.optim.AdamW(ps, 0.01, weight_decay=0.1)),
    ],
)
def test_optimizers(ours, theirs):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 4)).astype(np.float32)
    p, pt = Parameter(w0.copy()), torch.tensor(w0.copy(), requires_grad=True)
    opt, opt_t = ours([p]), theirs([pt])
    for _ in range(20):
        g = rng.standard_normal((3, 4)).astype(np.float32)
        p.grad[...] = g
        pt.grad = torch.tensor(g)
        opt.step()
        opt_t.step()
    _check(p.value, pt, rtol=1e-5, atol=1e-6)
