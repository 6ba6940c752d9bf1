"""Properties of the recurrent layers: padding changes nothing, step equals forward, states round-trip."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.recurrent import CELLS, GRU, LSTM, RNN, Bidirectional, Stacked, reverse_padded

E, H = 5, 4


def _rand(rng, *shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


def _map(fn, state):
    return tuple(fn(s) for s in state) if isinstance(state, tuple) else fn(state)


def _pairs(a, b):
    return zip(a, b) if isinstance(a, tuple) else [(a, b)]


def _close(a, b, **tol):
    for u, v in _pairs(a, b):
        np.testing.assert_allclose(u, v, **tol)


# (name, factory, batch axis of the state, leading size of the state or None for (B, H))
MODULES = [
    ("rnn", lambda rng: RNN(E, H, rng=rng), 0, None),
    ("lstm", lambda rng: LSTM(E, H, rng=rng), 0, None),
    ("gru", lambda rng: GRU(E, H, rng=rng), 0, None),
    ("bidirectional_gru", lambda rng: Bidirectional(GRU(E, H, rng=rng), GRU(E, H, rng=rng)), 1, 2),
    ("stacked_lstm", lambda rng: Stacked("lstm", E, H, 3, dropout=0.5, rng=rng).eval(), 1, 3),
    ("stacked_bidirectional_lstm", lambda rng: Stacked("lstm", E, H, 2, bidirectional=True, rng=rng), 1, 4),
    ("stacked_bidirectional_rnn", lambda rng: Stacked("rnn", E, H, 2, bidirectional=True, rng=rng), 1, 4),
]


def _state(rng, module, lead, B):
    shape = (B, H) if lead is None else (lead, B, H)
    return (_rand(rng, *shape), _rand(rng, *shape)) if module.has_cell else _rand(rng, *shape)


# unsorted with much padding (the products skip the padded rows), and with little (they run over every row)
LENGTH_CASES = {"much_padding": [5, 2, 4], "little_padding": [5, 4, 5, 5, 5]}


@pytest.mark.parametrize("lengths", LENGTH_CASES.values(), ids=LENGTH_CASES)
@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("name, make, axis, lead", MODULES, ids=[m[0] for m in MODULES])
def test_padded_batch_equals_each_sequence_alone(name, make, axis, lead, with_state, lengths):
    """Outputs, final states, input, state and parameter gradients; padding holds garbage and gets gradients."""
    rng = np.random.default_rng(0)
    module = make(rng).astype(np.float64)
    T, lengths = 5, np.array(lengths)
    B = len(lengths)
    x = _rand(rng, T, B, E)
    state = _state(rng, module, lead, B) if with_state else None
    y, final = module.forward(x, lengths, state)
    dy, d_final = _rand(rng, *y.shape), _map(lambda s: _rand(rng, *s.shape), final)
    module.zero_grad()
    out = module.backward(dy, d_final)
    dx, d_state = out if with_state else (out, None)
    batched_grads = {n: p.grad.copy() for n, p in module.named_parameters()}

    module.zero_grad()
    for b, n in enumerate(lengths):
        row = lambda s, b=b: np.take(s, [b], axis=axis)  # noqa: E731
        y_b, final_b = module.forward(x[:n, b : b + 1].copy(), None, None if state is None else _map(row, state))
        _close(y[:n, b : b + 1], y_b, rtol=1e-10, atol=1e-12)
        _close(_map(row, final), final_b, rtol=1e-10, atol=1e-12)
        out_b = module.backward(dy[:n, b : b + 1].copy(), _map(row, d_final))
        dx_b, d_state_b = out_b if with_state else (out_b, None)
        _close(dx[:n, b : b + 1], dx_b, rtol=1e-10, atol=1e-12)
        if with_state:
            _close(_map(row, d_state), d_state_b, rtol=1e-10, atol=1e-12)
        assert not y[n:, b].any() and not dx[n:, b].any()  # zero outputs and no gradient to padding
    for n, p in module.named_parameters():
        np.testing.assert_allclose(batched_grads[n], p.grad, rtol=1e-10, atol=1e-12, err_msg=n)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_full_lengths_equal_no_lengths_and_zero_length_keeps_the_state(cell):
    rng = np.random.default_rng(1)
    layer = CELLS[cell](E, H, rng=rng)
    x = _rand(rng, 3, 2, E, dtype=np.float32)
    state = layer.zero_state(2)
    state = _map(lambda s: _rand(rng, *s.shape, dtype=np.float32), state)
    y, final = layer.forward(x, None, state)
    y_full, final_full = layer.forward(x, np.array([3, 3]), state)
    np.testing.assert_array_equal(y, y_full)
    _close(final, final_full, rtol=0, atol=0)
    y0, final0 = layer.forward(x, np.array([0, 3]), state)
    assert not y0[:, 0].any()
    for s0, s in _pairs(final0, state):
        np.testing.assert_array_equal(s0[0], s[0])
    layer.clear_cache()


STEPPERS = [
    ("rnn", lambda rng: RNN(E, H, rng=rng), None),
    ("lstm", lambda rng: LSTM(E, H, rng=rng, w_h_init="orthogonal"), None),
    ("gru", lambda rng: GRU(E, H, rng=rng), None),
    ("stacked_gru", lambda rng: Stacked("gru", E, H, 3, dropout=0.3, rng=rng).eval(), 3),
    ("stacked_lstm", lambda rng: Stacked("lstm", E, H, 2, rng=rng), 2),
]


@pytest.mark.parametrize("name, make, lead", STEPPERS, ids=[s[0] for s in STEPPERS])
def test_step_over_a_sequence_equals_forward(name, make, lead):
    rng = np.random.default_rng(2)
    module = make(rng)
    x = _rand(rng, 4, 3, E, dtype=np.float32)
    state = _map(lambda s: s.astype(np.float32), _state(rng, module, lead, 3))
    y, final = module.forward(x, None, state)
    module.clear_cache()
    for t in range(x.shape[0]):
        h_t, state = module.step(x[t], state)
        np.testing.assert_allclose(h_t, y[t], rtol=1e-5, atol=1e-6)
        assert h_t.dtype == np.float32
    _close(final, state, rtol=1e-5, atol=1e-6)
    assert all(m._cache is None for m in module.modules())  # step caches nothing


def test_step_from_no_state_starts_at_zeros():
    rng = np.random.default_rng(3)
    lstm = LSTM(E, H, rng=rng)
    x_t = _rand(rng, 2, E, dtype=np.float32)
    _close(lstm.step(x_t)[1], lstm.step(x_t, lstm.zero_state(2))[1], rtol=0, atol=0)


def test_stacked_state_to_batch_major_round_trip():
    stack = Stacked("lstm", E, H, 3, rng=np.random.default_rng(4))
    h, c = _rand(np.random.default_rng(5), 3, 2, H), _rand(np.random.default_rng(6), 3, 2, H)
    batch_major = stack.state_to_batch_major((h, c))
    assert batch_major["h"].shape == (2, 3, H) and batch_major["c"].shape == (2, 3, H)
    h2, c2 = stack.state_from_batch_major(batch_major)
    np.testing.assert_array_equal(h2, h)
    np.testing.assert_array_equal(c2, c)
    gru_stack = Stacked("gru", E, H, 2, rng=np.random.default_rng(4))
    assert set(gru_stack.state_to_batch_major(np.zeros((2, 2, H)))) == {"h"}


def test_stacked_shapes_and_state_names():
    stack = Stacked("gru", E, H, 2, bidirectional=True, dropout=0.2, rng=np.random.default_rng(0))
    x = _rand(np.random.default_rng(1), 3, 2, E, dtype=np.float32)
    y, h = stack.forward(x, np.array([3, 2]))
    assert y.shape == (3, 2, 2 * H) and h.shape == (4, 2, H)
    assert stack.backward(y).shape == x.shape
    assert "layers.1.reverse_layer.bias_hn" in stack.state_dict()
    assert stack.layers[1].forward_layer.w_x.shape == (2 * H, 3 * H)
    assert repr(stack) == "Stacked(gru, 5 -> 4, n_layers=2, dropout=0.2, bidirectional)"


def test_stacked_dropout_only_in_training():
    stack = Stacked("rnn", E, H, 2, dropout=0.5, rng=np.random.default_rng(0))
    x = _rand(np.random.default_rng(1), 3, 2, E, dtype=np.float32)
    y_train, _ = stack.forward(x)
    stack.eval()
    y_eval, _ = stack.forward(x)
    np.testing.assert_array_equal(y_eval, stack.forward(x)[0])
    assert not np.allclose(y_train, y_eval)
    stack.clear_cache()


def test_backward_with_none_gradients_is_zero_gradients():
    rng = np.random.default_rng(7)
    lstm = LSTM(E, H, rng=rng).astype(np.float64)
    x = _rand(rng, 3, 2, E)
    y, (h, c) = lstm.forward(x)
    dh = _rand(rng, 2, H)
    dx_none = lstm.backward(None, (dh, None))
    lstm.forward(x)
    dx_zero = lstm.backward(np.zeros_like(y), (dh, np.zeros_like(c)))
    np.testing.assert_array_equal(dx_none, dx_zero)


def test_reverse_padded_keeps_padding_at_the_end():
    x = np.arange(12).reshape(4, 3)  # (T, B)
    y = reverse_padded(x, np.array([4, 2, 0]))
    np.testing.assert_array_equal(y[:, 0], [9, 6, 3, 0])
    np.testing.assert_array_equal(y[:, 1], [4, 1, 7, 10])
    np.testing.assert_array_equal(y[:, 2], x[:, 2])
    np.testing.assert_array_equal(reverse_padded(y, np.array([4, 2, 0])), x)
    np.testing.assert_array_equal(reverse_padded(x, None), x[::-1])


def test_orthogonal_recurrent_blocks():
    w_h = GRU(E, H, rng=np.random.default_rng(0), w_h_init="orthogonal").w_h.value
    for g in range(3):
        block = w_h[:, g * H : (g + 1) * H]
        np.testing.assert_allclose(block.T @ block, np.eye(H), atol=1e-6)


def test_default_init_is_uniform_in_one_over_sqrt_h():
    lstm = LSTM(E, 16, rng=np.random.default_rng(0))
    for p in lstm.parameters():
        assert p.dtype == np.float32 and np.abs(p.value).max() <= 0.25
