"""The autoencoder family on the dense EncoderDecoder: plain, denoising, sparse and contractive.

Each model is an `EncoderDecoder` (any stacks of dense layers and activations, built by `mlp`) whose training
objective is the reconstruction loss plus, for some, a penalty:

- `Autoencoder`: MSE, or binary cross-entropy on logits for inputs in [0, 1].
- `DenoisingAutoencoder` (Vincent et al. 2008): the input is corrupted during training only (Gaussian noise
  x + sigma * eps, or masking noise that zeroes each input with probability p); the target stays the clean input.
- `SparseAutoencoder`: L1 on the code, `weight * mean_B sum_C |context|`, or the KL divergence of a target
  activation rate rho from each code unit's mean activation rho_hat_j over the batch (Ng 2011, "Sparse
  autoencoder", CS294A notes, eq. 9): `weight * sum_j KL(rho || rho_hat_j)`; KL needs a sigmoid code.
- `ContractiveAutoencoder` (Rifai et al. 2011, eq. 3 and 5): `weight * mean_B ||J||_F^2`, J the Jacobian of the
  encoder's first layer h = s(x W + b) with respect to x, s sigmoid or tanh:
  ||J||_F^2 = sum_j s'(a_j)^2 sum_i W_ij^2. For a one-layer encoder (hidden_sizes=()) that is the encoder's exact
  Jacobian; for a deeper encoder the penalty covers the first layer only (the part that sees the input).

Randomness (the corruption) comes from the model's own generator `self.rng`, so gradcheck, which reseeds every
`rng` attribute before each forward, sees the same noise each time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from enc2dec.layers import Linear, Sigmoid, Tanh
from enc2dec.losses import BCEWithLogits
from enc2dec.models.dense import DenseConfig, EncoderDecoder
from enc2dec.nn.checks import check_ndim
from enc2dec.nn.functional import sigmoid


@dataclass(frozen=True)
class AutoencoderConfig(DenseConfig):
    """A plain autoencoder: the mirrored MLP of DenseConfig, trained on its reconstruction loss alone."""


@dataclass(frozen=True)
class DenoisingConfig(AutoencoderConfig):
    noise: str = "gaussian"  # gaussian | masking
    noise_level: float = 0.3  # gaussian: sigma; masking: the probability of zeroing an input

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.noise not in ("gaussian", "masking"):
            raise ValueError(f"DenoisingConfig.noise must be 'gaussian' or 'masking', got {self.noise!r}")
        if self.noise == "masking" and not 0.0 <= self.noise_level < 1.0:
            raise ValueError(f"DenoisingConfig.noise_level must be in [0, 1) for masking, got {self.noise_level}")
        if self.noise_level < 0:
            raise ValueError(f"DenoisingConfig.noise_level must be >= 0, got {self.noise_level}")


@dataclass(frozen=True)
class SparseConfig(AutoencoderConfig):
    sparsity: str = "l1"  # l1 | kl
    sparsity_target: float = 0.05  # kl: the target mean activation rho
    penalty_weight: float = 1e-3

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.sparsity not in ("l1", "kl"):
            raise ValueError(f"SparseConfig.sparsity must be 'l1' or 'kl', got {self.sparsity!r}")
        if not 0.0 < self.sparsity_target < 1.0:
            raise ValueError(f"SparseConfig.sparsity_target must be in (0, 1), got {self.sparsity_target}")
        if self.penalty_weight < 0:
            raise ValueError(f"SparseConfig.penalty_weight must be >= 0, got {self.penalty_weight}")
        if self.sparsity == "kl" and self.context_activation != "sigmoid":
            raise ValueError(
                f"SparseConfig: sparsity 'kl' needs context_activation 'sigmoid' (rates in (0, 1)), "
                f"got {self.context_activation!r}"
            )


@dataclass(frozen=True)
class ContractiveConfig(AutoencoderConfig):
    penalty_weight: float = 1e-3

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.penalty_weight < 0:
            raise ValueError(f"ContractiveConfig.penalty_weight must be >= 0, got {self.penalty_weight}")
        first = self.activation if self.hidden_sizes else self.context_activation
        if first not in ("sigmoid", "tanh"):
            raise ValueError(
                f"ContractiveConfig: the contractive penalty needs a sigmoid or tanh first encoder layer "
                f"({'activation' if self.hidden_sizes else 'context_activation'}), got {first!r}"
            )


class Autoencoder(EncoderDecoder):
    """x: (B, n_in) -> context: (B, C) -> y: (B, n_in). Objective: reconstruction loss + `penalty` (none here).

    Subclasses change `corrupt` (what the encoder sees during training) and `penalty` / `penalty_backward` (a
    term on the code and its gradient d_context, added to the context delta).
    """

    @classmethod
    def from_config(cls, config: AutoencoderConfig, *, rng: np.random.Generator) -> Autoencoder:
        model = super().from_config(config, rng=rng)
        model._setup(config, rng)
        return model

    def _setup(self, config: AutoencoderConfig, rng: np.random.Generator) -> None:
        """Read the variant's settings; `rng` is the model's own generator (kept only where noise is drawn)."""

    def corrupt(self, x: np.ndarray) -> np.ndarray:
        """x: (B, n_in) -> the encoder's training input (B, n_in)."""
        return x

    def penalty(self, x: np.ndarray, context: np.ndarray) -> float:
        """The term added to the loss; caches what `penalty_backward` needs."""
        return 0.0

    def penalty_backward(self) -> np.ndarray | None:
        """d(penalty)/d(context): (B, C), or None when the penalty does not depend on the code."""
        return None

    def compute_loss(self, batch: tuple[np.ndarray, np.ndarray]) -> tuple[float, int]:
        """batch: (x (B, n_in), target (B, n_in)) -> (reconstruction loss + penalty, B)."""
        x, target = batch
        check_ndim(self, "x", x, 2, "(B, n_in)")
        x_in = self.corrupt(x) if self.training else x
        context = self.encode(x_in)  # (B, C)
        loss = self.loss.forward(self.decode(context), target)
        return float(loss) + self.penalty(x_in, context), len(x)

    def backward_loss(self) -> None:
        d_context = self.decoder.backward(self.loss.backward())  # the context delta
        d_penalty = self.penalty_backward()
        if d_penalty is not None:
            d_context = d_context + d_penalty
        self.encoder.backward(d_context)

    def decode_mean(self, context: np.ndarray) -> np.ndarray:
        """context: (B, C) -> the reconstruction in data space (B, n_in) (sigmoid of BCE logits); no cache kept."""
        y = self.decode(context)
        self.decoder.clear_cache()
        return sigmoid(y) if isinstance(self.loss, BCEWithLogits) else y

    def reconstruction_error(self, x: np.ndarray) -> float:
        """Mean squared error of the reconstruction in data space (eval mode, nothing cached)."""
        was_training = self.training
        self.eval()
        error = float(np.mean((self.reconstruct(x) - x) ** 2))
        self.train(was_training)
        return error


class DenoisingAutoencoder(Autoencoder):
    """Corrupts the input during training only (Gaussian or masking noise); the target is the clean input."""

    def _setup(self, config: DenoisingConfig, rng: np.random.Generator) -> None:
        self.noise = config.noise
        self.noise_level = config.noise_level
        self.rng = rng

    def corrupt(self, x: np.ndarray) -> np.ndarray:
        if self.noise == "gaussian":
            return x + self.noise_level * self.rng.standard_normal(x.shape, dtype=np.float32).astype(x.dtype)
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.noise_level  # masking noise
        return x * keep

    def extra_repr(self) -> str:
        return f"noise={self.noise!r}, noise_level={self.noise_level}"


class SparseAutoencoder(Autoencoder):
    """L1 on the code, or KL(rho || rho_hat) on each sigmoid code unit's mean activation over the batch."""

    def _setup(self, config: SparseConfig, rng: np.random.Generator) -> None:
        self.sparsity = config.sparsity
        self.weight = config.penalty_weight
        self.target = config.sparsity_target

    def penalty(self, x: np.ndarray, context: np.ndarray) -> float:
        self._penalty_cache = context
        if self.sparsity == "l1":
            return self.weight * float(np.abs(context).sum()) / len(context)
        rho, rho_hat = self.target, context.mean(axis=0)  # (C,)
        kl = rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat))
        return self.weight * float(kl.sum())

    def penalty_backward(self) -> np.ndarray:
        context, self._penalty_cache = self._penalty_cache, None
        n = len(context)
        if self.sparsity == "l1":
            # d/dc weight * sum|c| / B = weight * sign(c) / B
            return np.sign(context) * (self.weight / n)
        # d KL / d rho_hat_j = -rho / rho_hat_j + (1 - rho) / (1 - rho_hat_j); rho_hat_j = mean_B c_bj
        rho, rho_hat = self.target, context.mean(axis=0)
        d_rho_hat = self.weight * (-rho / rho_hat + (1 - rho) / (1 - rho_hat))  # (C,)
        return np.broadcast_to(d_rho_hat / n, context.shape).astype(context.dtype)

    def extra_repr(self) -> str:
        return f"sparsity={self.sparsity!r}, weight={self.weight}"


class ContractiveAutoencoder(Autoencoder):
    """Penalty weight * mean_B ||dh/dx||_F^2 for the first encoder layer h = s(x W + b), s sigmoid or tanh.

    With r_j = sum_i W_ij^2 and g = s'(a)^2:  P = weight / B * sum_b sum_j g_bj r_j.
    dP/dW_ij = weight / B * sum_b g_bj * 2 W_ij (directly) + the path through h:
    dP/dh_bj = weight / B * r_j * dg/dh, with dg/dh = 2 s' ds'/dh; s' = h (1 - h) (sigmoid) or 1 - h^2 (tanh).
    """

    def _setup(self, config: ContractiveConfig, rng: np.random.Generator) -> None:
        self.weight = config.penalty_weight
        layers = self.encoder.layers
        if len(layers) < 2 or not isinstance(layers[0], Linear) or not isinstance(layers[1], (Sigmoid, Tanh)):
            raise ValueError(
                f"ContractiveAutoencoder: the encoder must start with Linear then Sigmoid or Tanh, got {self.encoder!r}"
            )

    def penalty(self, x: np.ndarray, context: np.ndarray) -> float:
        linear, act = self.encoder.layers[0], self.encoder.layers[1]
        a = linear.apply(x)  # (B, H), recomputed: the layers' caches belong to backward
        h = sigmoid(a) if isinstance(act, Sigmoid) else np.tanh(a)
        s_prime = h * (1 - h) if isinstance(act, Sigmoid) else 1 - h * h  # (B, H)
        r = np.sum(linear.weight.value**2, axis=0)  # (H,)
        self._penalty_cache = (h, s_prime, r)
        return self.weight * float(np.sum(s_prime**2 * r)) / len(x)

    def backward_loss(self) -> None:
        h, s_prime, r = self._penalty_cache
        self._penalty_cache = None
        layers = self.encoder.layers
        linear, act = layers[0], layers[1]
        scale = self.weight / len(h)
        # the direct path: d/dW_ij of s'(a)^2 r_j through r_j
        linear.weight.grad += (2 * scale) * linear.weight.value * np.sum(s_prime**2, axis=0)
        # the path through h: d(s'^2)/dh = 2 s' ds'/dh
        ds_dh = 1 - 2 * h if isinstance(act, Sigmoid) else -2 * h
        d_h = (2 * scale) * s_prime * ds_dh * r  # (B, H)
        d = self.decoder.backward(self.loss.backward())  # the context delta
        for layer in reversed(layers[2:]):
            d = layer.backward(d)
        layers[0].backward(act.backward(d + d_h))

    def extra_repr(self) -> str:
        return f"weight={self.weight}"
