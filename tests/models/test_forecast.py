"""The forecaster and the sequence autoencoder: decoding = teacher forcing on its own outputs, batched = one at a time,
padding changes nothing, scheduled sampling's inputs are data, clear errors, and small learning tasks."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.data.arrays import ArrayBatcher
from enc2dec.models.forecast import Forecaster, ForecasterConfig, SequenceAutoencoder, SequenceAutoencoderConfig
from enc2dec.training import TrainConfig, Trainer
from tests.helpers import randn


def _forecaster(**config) -> Forecaster:
    return Forecaster(ForecasterConfig(**{"embed_size": 5, "hidden_size": 6, **config}), rng=np.random.default_rng(0))


@pytest.mark.parametrize(
    "config",
    [{}, {"attention": "general", "feature_size": 2}, {"head": "gaussian", "cell": "gru", "n_layers": 2},
     {"attention": "concat", "head": "gaussian", "feature_size": 1, "dropout": 0.3}],
)  # fmt: skip
def test_forecast_equals_teacher_forcing_on_its_own_predictions(config):
    model = _forecaster(**config).eval()
    rng = np.random.default_rng(1)
    F = model.config.feature_size
    src, src_f, tgt_f = randn(rng, 3, 7), randn(rng, 3, 7, F) if F else None, randn(rng, 3, 4, F) if F else None
    mu, logvar = model.forecast(src, 4, src_f, tgt_f)
    assert mu.shape == (3, 4) and mu.dtype == np.float32 and (logvar is None) == (model.config.head == "linear")
    dec_in = np.concatenate([src[:, -1:], mu[:, :-1]], axis=1)
    out = model.forward(src, dec_in, src_f, tgt_f)
    model.clear_cache()
    np.testing.assert_allclose(out[0] if isinstance(out, tuple) else out, mu, rtol=1e-5, atol=1e-6)
    if logvar is not None:
        np.testing.assert_allclose(out[1], logvar, rtol=1e-5, atol=1e-6)
    # a batch forecasts as its windows one at a time
    one = model.forecast(src[1:2], 4, None if F == 0 else src_f[1:2], None if F == 0 else tgt_f[1:2])[0]
    np.testing.assert_allclose(one[0], mu[1], rtol=1e-5, atol=1e-6)
    assert model.training is False and all(m._cache is None for m in model.modules())


def test_scheduled_sampling_feeds_predictions_as_data():
    rng = np.random.default_rng(2)
    src, tgt = randn(rng, 4, 6), randn(rng, 4, 5)
    none = np.zeros((4, 6, 0), np.float32), np.zeros((4, 5, 0), np.float32)
    model = _forecaster(scheduled_sampling=1.0)
    dec_in = np.concatenate([src[:, -1:], tgt[:, :-1]], axis=1)
    predicted = model.forward(src, dec_in)
    model.clear_cache()
    mixed = model._scheduled_inputs(src, dec_in, None, None)
    np.testing.assert_array_equal(mixed[:, 0], src[:, -1])  # the first input is always the last value
    np.testing.assert_allclose(mixed[:, 1:], predicted[:, :-1], rtol=1e-6)
    # the loss's gradient is the teacher-forced one for the mixed inputs: the predictions count as data
    state = model.rng.bit_generator.state
    model.zero_grad()
    loss, n = model.compute_loss((src, tgt, *none))
    model.backward_loss()
    grads = [p.grad.copy() for p in model.parameters()]
    model.rng.bit_generator.state = state
    mixed = model._scheduled_inputs(src, np.concatenate([src[:, -1:], tgt[:, :-1]], axis=1), None, None)
    model.zero_grad()
    y = model.forward(src, mixed)
    assert float(model.loss.forward(y, tgt)) == pytest.approx(loss, rel=1e-6) and n == 20
    model.backward(model.loss.backward())
    for g, p in zip(grads, model.parameters()):
        np.testing.assert_allclose(p.grad, g, rtol=1e-5, atol=1e-7)
    model.eval()  # in evaluation, teacher forcing only
    assert model.compute_loss((src, tgt, *none))[0] == pytest.approx(
        float(_teacher_forced_mse(model, src, tgt)), rel=1e-6
    )


def _teacher_forced_mse(model, src, tgt):
    y = model.forward(src, np.concatenate([src[:, -1:], tgt[:, :-1]], axis=1))
    model.clear_cache()
    return np.mean((y - tgt) ** 2)


def test_forecaster_errors_name_the_problem():
    model = _forecaster(feature_size=2)
    src = np.zeros((2, 5), np.float32)
    with pytest.raises(ValueError, match=r"src_features \(B, T, 2\) are needed, got None"):
        model.forward(src, np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"src_features must have shape \(2, 5, 2\), got \(2, 5, 3\)"):
        model.forward(src, np.zeros((2, 3), np.float32), np.zeros((2, 5, 3), np.float32))
    with pytest.raises(ValueError, match=r"tgt_features must have shape \(2, 4, 2\), got \(2, 3, 2\)"):
        model.forecast(src, 4, np.zeros((2, 5, 2), np.float32), np.zeros((2, 3, 2), np.float32))
    with pytest.raises(TypeError, match="src must have dtype float32 like the parameters, got float64"):
        _forecaster().forward(np.zeros((2, 5)), np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"ForecasterConfig.attention must be one of .*got 'bahdanau'"):
        ForecasterConfig(attention="bahdanau")
    with pytest.raises(ValueError, match=r"ForecasterConfig.scheduled_sampling must be in \[0, 1\], got 2"):
        ForecasterConfig(scheduled_sampling=2)


def _sine_windows(rng, n, length, horizon=0):
    """Sines of random phase, amplitude and period 8..12 with a little noise: (n, length + horizon)."""
    t = np.arange(length + horizon)[None, :]
    phase, amp, period = rng.uniform(0, 2 * np.pi, (n, 1)), rng.uniform(0.5, 1.5, (n, 1)), rng.uniform(8, 12, (n, 1))
    return (amp * np.sin(2 * np.pi * t / period + phase) + 0.02 * rng.standard_normal((n, length + horizon))).astype(
        np.float32
    )


def test_forecaster_learns_sines_better_than_the_last_value():
    rng = np.random.default_rng(0)
    data = _sine_windows(rng, 600, 16, 6)
    src, tgt = data[:, :16], data[:, 16:]
    empty = np.zeros((600, 16, 0), np.float32), np.zeros((600, 6, 0), np.float32)
    model = Forecaster(ForecasterConfig(embed_size=8, hidden_size=24), rng=np.random.default_rng(0))
    batches = ArrayBatcher(src[:500], tgt[:500], empty[0][:500], empty[1][:500], batch_size=50, seed=0)
    Trainer(model, TrainConfig(lr=1e-2, max_epochs=12, clip_norm=1.0)).fit(batches)
    mu, _ = model.forecast(src[500:], 6)
    ours = np.mean((mu - tgt[500:]) ** 2)
    last = np.mean((src[500:, -1:] - tgt[500:]) ** 2)
    assert ours < last / 10, (ours, last)


# -- the sequence autoencoder -----------------------------------------------------------------------------------------
def _seq_ae(**config) -> SequenceAutoencoder:
    base = {"embed_size": 4, "hidden_size": 5, "context_size": 2}
    return SequenceAutoencoder(SequenceAutoencoderConfig(**{**base, **config}), rng=np.random.default_rng(0))


@pytest.mark.parametrize("config", [{}, {"cell": "gru", "n_layers": 2, "feature_size": 2, "reverse_target": False}])
def test_seq_ae_padding_changes_nothing(config):
    """A padded batch gives each series' own outputs, contexts and input gradients; padding gets 0 and no gradient."""
    model = _seq_ae(**config)
    rng = np.random.default_rng(3)
    F = model.config.feature_size
    x, lengths = randn(rng, 3, 6), np.array([6, 2, 4])
    feats = randn(rng, 3, 6, F) if F else None
    y = model.forward(x, lengths, feats)
    dy = randn(rng, 3, 6)
    grads = model.backward(dy)
    assert np.all(y[1, 2:] == 0) and np.all(y[2, 4:] == 0) and np.all(grads[0][1, 2:] == 0)
    contexts = model.encode(x, lengths, feats)
    assert contexts.shape == (3, 2)
    for b, n in enumerate(lengths):
        alone_f = None if feats is None else feats[b : b + 1, :n]
        y1 = model.forward(x[b : b + 1, :n], None, alone_f)
        g1 = model.backward(dy[b : b + 1, :n])
        np.testing.assert_allclose(y1[0], y[b, :n], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(g1[0][0], grads[0][b, :n], rtol=1e-4, atol=1e-6)
        if F:
            np.testing.assert_allclose(g1[1][0], grads[1][b, :n], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(model.encode(x[b : b + 1, :n], None, alone_f)[0], contexts[b], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        model.decode(contexts, 6, lengths, feats), model.reconstruct(x, lengths, feats), rtol=1e-6
    )


def test_seq_ae_errors_name_the_problem():
    model = _seq_ae()
    x = np.zeros((2, 4), np.float32)
    with pytest.raises(ValueError, match=r"lengths must be in \[1, 4\], got \[0, 4\]"):
        model.forward(x, np.array([4, 0]))
    with pytest.raises(ValueError, match=r"lengths must be a \(2,\) integer array, got float64 \(2,\)"):
        model.forward(x, np.array([4.0, 2.0]))
    with pytest.raises(ValueError, match=r"context must have shape \(B, 2\), got \(2, 3\)"):
        model.decode(np.zeros((2, 3), np.float32), 4)
    with pytest.raises(ValueError, match="SequenceAutoencoderConfig.context_size must be >= 1, got 0"):
        SequenceAutoencoderConfig(context_size=0)


def test_seq_ae_learns_sines_through_a_2d_context():
    """Sines of one period and random phase lie on a circle, which a 2-D context can hold: the reconstruction
    error falls far below the variance."""
    rng = np.random.default_rng(0)
    t = np.arange(12)[None, :]
    x = (np.sin(2 * np.pi * t / 12 + rng.uniform(0, 2 * np.pi, (500, 1)))).astype(np.float32)
    x += 0.05 * randn(rng, 500, 12)
    model = SequenceAutoencoder(SequenceAutoencoderConfig(embed_size=8, hidden_size=24), rng=np.random.default_rng(0))
    lengths = np.full(500, 12, dtype=np.int64)
    batches = ArrayBatcher(x[:400], lengths[:400], np.zeros((400, 12, 0), np.float32), batch_size=40, seed=0)
    Trainer(model, TrainConfig(lr=1e-2, max_epochs=15, clip_norm=1.0)).fit(batches)
    mse = np.mean((model.reconstruct(x[400:]) - x[400:]) ** 2)
    assert mse < 0.02 * np.var(x[400:]), mse  # the noise alone is 0.005 of it
