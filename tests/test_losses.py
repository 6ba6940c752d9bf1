"""Loss values against their definitions (gradients are in tests/test_gradients.py)."""

from __future__ import annotations

import numpy as np

from enc2dec.losses import MSE, BCEWithLogits, CrossEntropy, GaussianKL


def test_cross_entropy_ignore_index_and_smoothing_values():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((5, 4))
    t = np.array([1, 0, 3, 0, 2])
    log_p = z - np.log(np.exp(z).sum(1, keepdims=True))
    keep = t != 0
    plain = -log_p[np.arange(5), t][keep].mean()
    assert np.isclose(CrossEntropy(ignore_index=0).forward(z, t), plain)
    s = 0.2
    smooth = (-(1 - s) * log_p[np.arange(5), t] - s / 4 * log_p.sum(1))[keep].mean()
    assert np.isclose(CrossEntropy(ignore_index=0, smoothing=s).forward(z, t), smooth)


def test_cross_entropy_all_ignored_is_zero_with_zero_gradient():
    loss = CrossEntropy(ignore_index=0)
    assert loss.forward(np.ones((3, 4), np.float32), np.zeros(3, np.int64)) == 0
    assert not np.any(loss.backward())


def test_bce_with_logits_stable_for_large_logits():
    z = np.array([1e4, -1e4, 0.0], np.float32)
    t = np.array([1.0, 0.0, 1.0], np.float32)
    loss = BCEWithLogits("sum").forward(z, t)
    assert np.isfinite(loss) and np.isclose(loss, np.log(2), rtol=1e-6)


def test_reductions():
    p, t = np.full((4, 3), 2.0, np.float32), np.zeros((4, 3), np.float32)
    assert MSE("mean").forward(p, t) == 4.0
    assert MSE("sum").forward(p, t) == 48.0
    assert MSE("batchmean").forward(p, t) == 12.0


def test_gaussian_kl_is_zero_at_the_prior():
    mu, logvar = np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float32)
    assert GaussianKL().forward(mu, logvar) == 0.0
    assert GaussianKL().forward(mu + 1, logvar) == 1.5  # 0.5 * 3 dims per example, mean over 2
