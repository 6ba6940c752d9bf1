from __future__ import annotations

import numpy as np

from enc2dec.nn import functional, init


def test_stable_for_inputs_of_magnitude_1e4():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4 + 1, 3.0]], dtype=np.float32)
    for y in (functional.sigmoid(x), functional.softmax(x), functional.log_softmax(x), functional.gelu(x)):
        assert np.all(np.isfinite(y)) and y.dtype == np.float32
    np.testing.assert_allclose(functional.sigmoid(x)[0], [1.0, 0.0, 0.5])
    np.testing.assert_allclose(functional.softmax(x)[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(functional.log_softmax(x)[0], [0.0, -2e4, -1e4])
    np.testing.assert_allclose(functional.softmax(x).sum(axis=-1), 1.0, rtol=1e-6)


def test_softmax_matches_definition():
    x = np.random.default_rng(0).standard_normal((4, 6))
    np.testing.assert_allclose(functional.softmax(x), np.exp(x) / np.exp(x).sum(-1, keepdims=True), rtol=1e-12)


def test_initializers_seeded_float32_and_scaled():
    a = init.xavier_uniform((300, 200), np.random.default_rng(0))
    b = init.xavier_uniform((300, 200), np.random.default_rng(0))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and np.abs(a).max() <= np.sqrt(6 / 500)
    u = init.uniform((100, 100), 0.08, np.random.default_rng(1))
    assert u.dtype == np.float32 and np.abs(u).max() <= 0.08 and np.abs(u).max() > 0.07
    h = init.he_normal((2000, 50), np.random.default_rng(2))
    assert abs(h.std() - np.sqrt(2 / 2000)) < 0.002
    q = init.orthogonal((6, 4), np.random.default_rng(3))
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-6)
    q = init.orthogonal((4, 6), np.random.default_rng(3))
    np.testing.assert_allclose(q @ q.T, np.eye(4), atol=1e-6)


def test_logsumexp_by_definition_stable_and_minus_inf_where_all_are():
    x = np.array([[0.5, -1.0, 2.0], [1e4, 1e4, -1e4], [-np.inf, -np.inf, -np.inf]])
    out = functional.logsumexp(x, axis=1)
    assert np.isclose(out[0], np.log(np.exp(x[0]).sum())) and np.isclose(out[1], 1e4 + np.log(2.0))
    assert out[2] == -np.inf
    assert functional.logsumexp(np.zeros((3, 4), dtype=np.float32), axis=0).dtype == np.float32
