"""Variational autoencoder (Kingma & Welling 2014), dense encoder and decoder.

The encoder (an `mlp`) ends in 2C units, split into the Gaussian posterior's mean and log-variance:
q(z|x) = N(mu, exp(logvar)). Training draws z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) from the model's own
generator `self.rng` (the reparameterization trick, section 2.4); evaluation takes z = mu. The decoder gives
logits of a Bernoulli p(x|z) (inputs in [0, 1]) or the mean of a unit-variance Gaussian.

Objective per example, averaged over the batch: -log p(x|z) + beta * KL(q(z|x) || N(0, I)) (beta = 1: the
negative ELBO; beta != 1: Higgins et al. 2017). The Gaussian decoder's -log p includes its constant
D / 2 log(2 pi), so `neg_elbo` is a true negative ELBO (nats per example) for both decoders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from enc2dec.losses import MSE, BCEWithLogits, GaussianKL
from enc2dec.models.autoencoders import Autoencoder, AutoencoderConfig
from enc2dec.models.dense import EncoderDecoder, mlp
from enc2dec.nn.checks import check_ndim
from enc2dec.nn.functional import sigmoid
from enc2dec.nn.module import Module


@dataclass(frozen=True)
class VAEConfig(AutoencoderConfig):
    """The encoder ends in 2 * context_size units (mean, log-variance); the likelihood is `decoder` (DenseConfig's
    `loss` is not used)."""

    beta: float = 1.0  # the KL term's weight (Higgins et al. 2017); 1 is the ELBO
    decoder: str = "bernoulli"  # bernoulli (inputs in [0, 1]) | gaussian (unit variance)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.decoder not in ("bernoulli", "gaussian"):
            raise ValueError(f"VAEConfig.decoder must be 'bernoulli' or 'gaussian', got {self.decoder!r}")
        if self.beta < 0:
            raise ValueError(f"VAEConfig.beta must be >= 0, got {self.beta}")


class VAE(Autoencoder):
    """x: (B, n_in) -> (y: (B, n_in) logits or means, mu: (B, C), logvar: (B, C)); z: (B, C) drawn in training."""

    def __init__(
        self, encoder: Module, decoder: Module, *, rng: np.random.Generator, decoder_kind: str = "bernoulli", beta=1.0
    ):
        if decoder_kind not in ("bernoulli", "gaussian"):
            raise ValueError(f"VAE: decoder_kind must be 'bernoulli' or 'gaussian', got {decoder_kind!r}")
        # -log p(x|z) summed over pixels, averaged over the batch; the Gaussian's is 0.5 ||x - y||^2 + const
        EncoderDecoder.__init__(
            self, encoder, decoder, BCEWithLogits("batchmean") if decoder_kind == "bernoulli" else MSE("batchmean")
        )
        self.kl = GaussianKL("batchmean")
        self.decoder_kind = decoder_kind
        self.beta = float(beta)
        self.rng = rng

    @classmethod
    def from_config(cls, config: VAEConfig, *, rng: np.random.Generator) -> VAE:
        sizes = [config.input_size, *config.hidden_sizes]
        encoder = mlp([*sizes, 2 * config.context_size], config.activation, None, rng)
        decoder = mlp([config.context_size, *sizes[::-1]], config.activation, None, rng)
        model = cls(encoder, decoder, rng=rng, decoder_kind=config.decoder, beta=config.beta)
        model.config = config
        return model

    @property
    def context_size(self) -> int:
        return self.decoder.layers[0].weight.shape[0]

    # -- the module --------------------------------------------------------------------------------------------
    def encode_gaussian(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x: (B, n_in) -> (mu, logvar): (B, C) each; caches for backward."""
        h = self.encoder.forward(x)  # (B, 2C)
        c = h.shape[-1] // 2
        return h[..., :c], h[..., c:]

    def encode(self, x: np.ndarray) -> np.ndarray:
        """x: (B, n_in) -> mu: (B, C), the code used by transform and the latent plots; no cache kept."""
        mu, _ = self.encode_gaussian(x)
        self.encoder.clear_cache()
        return mu

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mu, logvar = self.encode_gaussian(x)
        if self.training:
            eps = self.rng.standard_normal(mu.shape, dtype=np.float32).astype(mu.dtype)
            std = np.exp(0.5 * logvar)
            z = mu + std * eps  # the reparameterization trick
        else:
            eps, std, z = None, None, mu
        self._cache = (eps, std)
        return self.decoder.forward(z), mu, logvar

    def backward(
        self, dy: np.ndarray, d_mu: np.ndarray | None = None, d_logvar: np.ndarray | None = None
    ) -> np.ndarray:
        # z = mu + exp(logvar / 2) eps  =>  dmu += dz,  dlogvar += dz * eps * std / 2
        eps, std = self.pop_cache()
        dz = self.decoder.backward(dy)  # the context delta
        d_mu = dz if d_mu is None else d_mu + dz
        d_logvar = np.zeros_like(dz) if d_logvar is None else d_logvar
        if eps is not None:
            d_logvar = d_logvar + dz * eps * std * 0.5
        return self.encoder.backward(np.concatenate([d_mu, d_logvar], axis=-1))  # (B, 2C) -> (B, n_in)

    # -- the trainer's protocol --------------------------------------------------------------------------------
    def compute_loss(self, batch: tuple[np.ndarray, np.ndarray]) -> tuple[float, int]:
        """batch: (x (B, n_in), target (B, n_in)) -> (-log p(x|z) + beta KL per example, B)."""
        x, target = batch
        check_ndim(self, "x", x, 2, "(B, n_in)")
        y, mu, logvar = self.forward(x)
        nll = float(self.loss.forward(y, target))
        if isinstance(self.loss, MSE):  # 0.5 ||x - y||^2 + D/2 log(2 pi) per example
            nll = 0.5 * nll + 0.5 * x.shape[1] * math.log(2 * math.pi)
        kl = float(self.kl.forward(mu, logvar))
        self._terms = (nll, kl)
        return nll + self.beta * kl, len(x)

    def backward_loss(self) -> None:
        d_y = self.loss.backward(0.5 if isinstance(self.loss, MSE) else 1.0)
        d_mu, d_logvar = self.kl.backward(self.beta)
        self.backward(d_y, d_mu, d_logvar)

    # -- using the model -------------------------------------------------------------------------------------
    def neg_elbo(self, x: np.ndarray, *, seed: int = 0) -> float:
        """-ELBO in nats per example (one z sample each, drawn from a generator seeded with `seed`)."""
        saved, was_training = self.rng, self.training
        self.rng = np.random.default_rng(seed)
        self.train()
        try:
            self.compute_loss((x, x))
            nll, kl = self._terms
        finally:
            self.clear_cache()
            self.rng = saved
            self.train(was_training)
        return nll + kl

    def _output(self, z: np.ndarray) -> np.ndarray:
        y = self.decoder.forward(z)
        self.decoder.clear_cache()
        return sigmoid(y) if self.decoder_kind == "bernoulli" else y

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        """The decoder's mean at z = mu, in data space; no cache kept."""
        return self._output(self.encode(x))

    def sample(self, n: int, *, rng: np.random.Generator | None = None) -> np.ndarray:
        """n draws z ~ N(0, I), decoded to data space: (n, n_in). rng defaults to the model's generator."""
        if n < 1:
            raise ValueError(f"VAE.sample: n must be >= 1, got {n}")
        rng = self.rng if rng is None else rng
        z = rng.standard_normal((n, self.context_size), dtype=np.float32).astype(self.dtype)
        return self._output(z)

    def interpolate(self, a: np.ndarray, b: np.ndarray, steps: int) -> np.ndarray:
        """a, b: (n_in,) inputs -> (steps, n_in): decodings of codes on the line from mu(a) to mu(b)."""
        if steps < 2:
            raise ValueError(f"VAE.interpolate: steps must be >= 2, got {steps}")
        mu = self.encode(np.stack([a, b]).astype(self.dtype))  # (2, C)
        t = np.linspace(0.0, 1.0, steps, dtype=self.dtype)[:, None]  # (steps, 1)
        return self._output((1 - t) * mu[0] + t * mu[1])  # (steps, C) -> (steps, n_in)

    def decode_mean(self, z: np.ndarray) -> np.ndarray:
        """z: (B, C) -> the decoder's mean in data space (B, n_in); no cache kept."""
        return self._output(z)

    def extra_repr(self) -> str:
        return f"decoder={self.decoder_kind!r}, beta={self.beta}"
