from __future__ import annotations

import numpy as np
import pytest

from enc2dec.layers import Dropout, Embedding, Linear, Sequential, Tanh
from enc2dec.nn import Module, Parameter


def _net(seed: int = 0) -> Sequential:
    rng = np.random.default_rng(seed)
    return Sequential(Linear(3, 4, rng=rng), Tanh(), Dropout(0.5, rng=rng), Linear(4, 2, rng=rng))


def test_named_parameters_are_dotted_attribute_paths():
    names = [name for name, _ in _net().named_parameters()]
    assert names == ["layers.0.weight", "layers.0.bias", "layers.3.weight", "layers.3.bias"]


def test_tied_parameter_listed_once_and_gradients_sum():
    rng = np.random.default_rng(0)
    emb = Embedding(5, 3, rng=rng)
    out = Linear(3, 5, rng=rng, bias=False)
    out.weight = Parameter(emb.weight.value.T.copy())
    tied = Module()
    tied.a, tied.b = Linear(3, 3, rng=rng), Linear(3, 3, rng=rng)
    tied.b.weight = tied.a.weight
    assert [n for n, _ in tied.named_parameters()] == ["a.weight", "a.bias", "b.bias"]
    x = rng.standard_normal((2, 3)).astype(np.float32)
    tied.a.forward(x), tied.b.forward(x)
    tied.a.backward(np.ones((2, 3), np.float32)), tied.b.backward(np.ones((2, 3), np.float32))
    np.testing.assert_allclose(tied.a.weight.grad, 2 * x.T @ np.ones((2, 3)), rtol=1e-6)


def test_state_dict_round_trip_and_strict_errors():
    a, b = _net(0), _net(1)
    b.load_state_dict(a.state_dict())
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.value, q.value)
    state = a.state_dict()
    with pytest.raises(ValueError, match=r"missing keys \['layers.3.bias'\]"):
        b.load_state_dict({k: v for k, v in state.items() if k != "layers.3.bias"})
    with pytest.raises(ValueError, match=r"unexpected keys \['extra'\]"):
        b.load_state_dict({**state, "extra": np.zeros(1)})
    with pytest.raises(ValueError, match=r"layers.0.weight must have shape \(3, 4\), got \(4, 3\)"):
        b.load_state_dict({**state, "layers.0.weight": np.zeros((4, 3))})


def test_train_eval_and_zero_grad():
    net = _net()
    assert all(m.training for m in net.modules())
    net.eval()
    assert not any(m.training for m in net.modules())
    x = np.ones((2, 3), np.float32)
    net.forward(x)
    net.backward(np.ones((2, 2), np.float32))
    assert any(np.any(p.grad) for p in net.parameters())
    net.zero_grad()
    assert not any(np.any(p.grad) for p in net.parameters())


def test_backward_without_forward_names_the_layer():
    layer = Linear(3, 2, rng=np.random.default_rng(0))
    with pytest.raises(RuntimeError, match=r"Linear\(3 -> 2\): backward called without"):
        layer.backward(np.ones((1, 2), np.float32))


def test_dropout_is_seeded_and_inverted():
    x = np.ones((1000, 10), np.float32)
    y1 = Dropout(0.3, rng=np.random.default_rng(5)).forward(x)
    y2 = Dropout(0.3, rng=np.random.default_rng(5)).forward(x)
    np.testing.assert_array_equal(y1, y2)
    assert set(np.unique(y1)) == {0.0, np.float32(1 / 0.7)}
    assert abs(y1.mean() - 1.0) < 0.02
    np.testing.assert_array_equal(Dropout(0.3, rng=np.random.default_rng(5)).eval().forward(x), x)


def test_parameter_rejects_integer_values():
    with pytest.raises(TypeError, match="Parameter: value must be a float array"):
        Parameter(np.zeros(3, dtype=np.int64))


def test_clear_cache_drops_every_cache_below():
    from tests.helpers import build_autoencoder

    model = build_autoencoder("sparse", np.random.default_rng(0), input_size=4, context_size=2, hidden_sizes=(3,))
    x = np.ones((2, 4), np.float32)
    model.compute_loss((x, x))
    assert model._penalty_cache is not None and model.encoder.layers[0]._cache is not None
    model.clear_cache()
    assert model._penalty_cache is None
    assert all(m._cache is None for m in model.modules())
