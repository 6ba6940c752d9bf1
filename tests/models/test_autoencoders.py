"""The autoencoder family: what each variant adds, checked by properties; errors name what was wrong."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.data.arrays import ArrayBatcher
from enc2dec.models.autoencoders import Autoencoder, ContractiveAutoencoder, DenoisingAutoencoder, SparseAutoencoder
from enc2dec.models.vae import VAE
from enc2dec.training import TrainConfig, Trainer
from tests.helpers import build_autoencoder, randn


def _build(kind="plain", **kw):
    return build_autoencoder(
        kind, np.random.default_rng(0), **{"input_size": 6, "context_size": 2, "hidden_sizes": (5,), **kw}
    )


@pytest.mark.parametrize(
    "kind, cls",
    [
        ("plain", Autoencoder),
        ("denoising", DenoisingAutoencoder),
        ("sparse", SparseAutoencoder),
        ("contractive", ContractiveAutoencoder),
        ("vae", VAE),
    ],
)
def test_build_by_kind_and_shapes(kind, cls):
    model = _build(kind, activation="tanh")
    assert type(model) is cls
    x = randn(np.random.default_rng(1), 3, 6)
    codes = model.eval().encode(x)
    assert codes.shape == (3, 2) and codes.dtype == np.float32
    assert model.decode_mean(codes).shape == (3, 6)
    assert model.reconstruct(x).shape == (3, 6)


def test_denoising_corrupts_in_training_only_and_targets_the_clean_input():
    model = _build("denoising", noise="masking", noise_level=0.5)
    x = np.ones((4, 6), dtype=np.float32)
    masked = model.corrupt(x)
    assert 0 < masked.sum() < x.size and set(np.unique(masked)) <= {0.0, 1.0}
    model.eval()
    loss_eval, _ = model.compute_loss((x, x))
    model.clear_cache()
    assert loss_eval == pytest.approx(model.loss.forward(model.forward(x), x).item())
    gaussian = _build("denoising", noise_level=0.3)
    noise = gaussian.corrupt(np.zeros((2000, 6), dtype=np.float32))
    assert noise.std() == pytest.approx(0.3, rel=0.05)


def test_sparse_penalties_by_hand():
    model = _build("sparse", context_activation="sigmoid", sparsity="kl", sparsity_target=0.2, penalty_weight=2.0)
    codes = np.array([[0.1, 0.5], [0.3, 0.5]], dtype=np.float32)
    rho, rho_hat = 0.2, np.array([0.2, 0.5])
    kl = rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
    assert model.penalty(codes, codes) == pytest.approx(2.0 * kl.sum(), rel=1e-5)
    l1 = _build("sparse", penalty_weight=0.5)
    assert l1.penalty(codes, -codes) == pytest.approx(0.5 * np.abs(codes).sum() / 2, rel=1e-6)


@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
def test_contractive_penalty_is_the_jacobians_squared_norm(act):
    """One-layer encoder: the penalty equals mean_B ||d context / d x||_F^2, by central differences."""
    model = _build("contractive", hidden_sizes=(), context_activation=act, penalty_weight=1.0).astype(np.float64)
    x = np.random.default_rng(1).standard_normal((3, 6))
    eps, norms = 1e-6, []
    for row in x:
        jac = np.stack(
            [(model.encode(row + eps * e) - model.encode(row - eps * e)) / (2 * eps) for e in np.eye(6)], axis=1
        )
        norms.append(np.sum(jac**2))
    model.clear_cache()
    assert model.penalty(x, None) == pytest.approx(np.mean(norms), rel=1e-6)


def test_vae_sample_interpolate_and_neg_elbo():
    model = _build("vae", context_size=3)
    samples = model.sample(5, rng=np.random.default_rng(0))
    assert samples.shape == (5, 6) and samples.min() >= 0 and samples.max() <= 1
    np.testing.assert_array_equal(samples, model.sample(5, rng=np.random.default_rng(0)))
    x = np.random.default_rng(1).uniform(size=(4, 6)).astype(np.float32)
    path = model.interpolate(x[0], x[1], steps=4)
    assert path.shape == (4, 6)
    np.testing.assert_allclose(path[0], model.reconstruct(x[:1])[0], rtol=1e-5)
    np.testing.assert_allclose(path[-1], model.reconstruct(x[1:2])[0], rtol=1e-5)
    first = model.neg_elbo(x)
    assert model.neg_elbo(x) == first != model.neg_elbo(x, seed=1)  # seeded: the same draw for the same seed only
    model.eval()
    y, mu, logvar = model.forward(x)
    model.clear_cache()
    assert y.shape == (4, 6) and mu.shape == logvar.shape == (4, 3)


def test_vae_gaussian_neg_elbo_includes_the_constant():
    model = _build("vae", decoder="gaussian", beta=3.0)
    x = randn(np.random.default_rng(1), 4, 6)
    model.train()
    model.rng = np.random.default_rng(5)
    loss, _ = model.compute_loss((x, x))
    nll, kl = model._terms
    model.clear_cache()
    assert loss == pytest.approx(nll + 3.0 * kl)
    model.rng = np.random.default_rng(5)  # the same z again
    y, _, _ = model.forward(x)
    model.clear_cache()
    # -log N(x; y, I) per example: 0.5 ||x - y||^2 + D/2 log(2 pi), D = 6
    assert nll == pytest.approx(0.5 * np.sum((x - y) ** 2) / 4 + 0.5 * 6 * np.log(2 * np.pi), rel=1e-5)


@pytest.mark.parametrize("kind", ["plain", "denoising", "sparse", "contractive", "vae"])
def test_each_kind_learns_a_low_dimensional_manifold(kind):
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 1, (256, 2)).astype(np.float32)
    x = np.concatenate([t, 1 - t, t * t, np.sqrt(t[:, :1] * t[:, 1:])], axis=1)[:, :6]  # 6 features from 2
    extra = {"denoising": {"noise_level": 0.05}, "sparse": {"penalty_weight": 1e-4},
             "contractive": {"penalty_weight": 1e-4}, "vae": {"beta": 0.01}}.get(kind, {})  # fmt: skip
    model = _build(kind, loss="bce", activation="tanh", context_activation="sigmoid", hidden_sizes=(16,), **extra)
    before = model.reconstruction_error(x)
    Trainer(model, TrainConfig(lr=1e-2, max_epochs=60, clip_norm=None)).fit(ArrayBatcher(x, x, batch_size=32))
    assert model.reconstruction_error(x) < before / 4


@pytest.mark.parametrize(
    "kind, kw, match",
    [
        ("denoising", dict(noise="salt"), r"DenoisingConfig.noise must be 'gaussian' or 'masking', got 'salt'"),
        ("denoising", dict(noise="masking", noise_level=1.0), r"noise_level must be in \[0, 1\) for masking, got 1.0"),
        ("sparse", dict(sparsity_target=0.0), r"sparsity_target must be in \(0, 1\), got 0.0"),
        ("vae", dict(beta=-1.0), r"VAEConfig.beta must be >= 0, got -1.0"),
        ("sparse", dict(sparsity="kl"), r"sparsity 'kl' needs context_activation 'sigmoid'.* got None"),
        ("contractive", dict(activation="relu"), r"needs a sigmoid or tanh first encoder layer .*got 'relu'"),
        ("vae", dict(decoder="poisson"), r"VAEConfig.decoder must be 'bernoulli' or 'gaussian'"),
        ("plain", dict(beta=4.0), r"unexpected keyword argument 'beta'"),
    ],
)
def test_bad_config_is_rejected(kind, kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        _build(kind, **kw)


def test_bad_inputs_are_rejected():
    model = _build()
    with pytest.raises(ValueError, match=r"x must have shape \(B, n_in\), got \(6,\)"):
        model.compute_loss((np.zeros(6, np.float32), np.zeros(6, np.float32)))
    with pytest.raises(ValueError, match=r"Linear\(6 -> 5\): x must have shape \(..., 6\), got \(2, 4\)"):
        model.encode(np.zeros((2, 4), np.float32))
    vae = _build("vae")
    with pytest.raises(ValueError, match="VAE.sample: n must be >= 1, got 0"):
        vae.sample(0)
    with pytest.raises(ValueError, match="VAE.interpolate: steps must be >= 2, got 1"):
        vae.interpolate(np.zeros(6), np.ones(6), 1)


def test_models_import_nothing_heavy():
    import subprocess
    import sys

    code = (
        "import sys, enc2dec.models.autoencoders, enc2dec.models.vae;"
        "print([m for m in ('yaml', 'matplotlib', 'tqdm', 'sklearn', 'safetensors') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
