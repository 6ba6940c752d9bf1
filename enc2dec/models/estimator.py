"""A scikit-learn transformer around the autoencoder family: fit, transform (the code), inverse_transform (the
reconstruction), fit_transform, score (negative held-out reconstruction MSE, higher is better), get_params and
set_params; it works inside Pipeline and GridSearchCV. Training runs the shared Trainer.

The model trains and runs in the float dtype of the X given to `fit` (float32, or float64 as scikit-learn's own
estimators compute for float64 input); transform, inverse_transform and score cast their input to that dtype and
return X's dtype.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data


class AutoencoderTransformer(TransformerMixin, BaseEstimator):
    """X: (N, n_features) -> codes (N, context_size). Parameters mirror AutoencoderConfig and TrainConfig.

    kind: plain | denoising | sparse | contractive | vae (codes are the posterior means).
    loss: "mse", or "bce" for features in [0, 1] (checked at fit).
    """

    def __init__(
        self,
        context_size: int = 2,
        hidden_sizes: tuple[int, ...] = (32,),
        activation: str = "tanh",
        context_activation: str | None = None,
        loss: str = "mse",
        kind: str = "plain",
        noise: str = "gaussian",
        noise_level: float = 0.3,
        sparsity: str = "l1",
        sparsity_target: float = 0.05,
        penalty_weight: float = 1e-3,
        beta: float = 1.0,
        epochs: int = 20,
        batch_size: int = 64,
        lr: float = 3e-3,
        random_state: int = 0,
        verbose: bool = False,
    ):
        self.context_size = context_size
        self.hidden_sizes = hidden_sizes
        self.activation = activation
        self.context_activation = context_activation
        self.loss = loss
        self.kind = kind
        self.noise = noise
        self.noise_level = noise_level
        self.sparsity = sparsity
        self.sparsity_target = sparsity_target
        self.penalty_weight = penalty_weight
        self.beta = beta
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.random_state = random_state
        self.verbose = verbose

    def _model_config(self, n_features: int):
        from enc2dec.models.autoencoders import AutoencoderConfig

        decoder = "bernoulli" if self.loss == "bce" else "gaussian"
        return AutoencoderConfig(
            input_size=n_features,
            context_size=int(self.context_size),
            hidden_sizes=tuple(int(h) for h in self.hidden_sizes),
            activation=self.activation,
            context_activation=self.context_activation,
            loss=self.loss,
            kind=self.kind,
            noise=self.noise,
            noise_level=float(self.noise_level),
            sparsity=self.sparsity,
            sparsity_target=float(self.sparsity_target),
            penalty_weight=float(self.penalty_weight),
            beta=float(self.beta),
            decoder=decoder,
        )

    def fit(self, X, y=None):
        """X: (N, n_features); y is ignored."""
        from enc2dec.data.arrays import ArrayBatcher
        from enc2dec.models.autoencoders import build_autoencoder
        from enc2dec.training import TrainConfig, Trainer

        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=True)
        if self.loss == "bce" and (X.min() < 0 or X.max() > 1):
            raise ValueError(
                f"AutoencoderTransformer: loss='bce' needs features in [0, 1], got [{X.min():.3g}, {X.max():.3g}]"
            )
        config = self._model_config(X.shape[1])
        rng = np.random.default_rng(self.random_state)
        model = build_autoencoder(config, rng=rng).astype(X.dtype)  # before the Trainer makes optimizer state
        train_config = TrainConfig(
            lr=float(self.lr), max_epochs=int(self.epochs), seed=int(self.random_state), progress=bool(self.verbose)
        )
        batcher = ArrayBatcher(X, X, batch_size=int(self.batch_size), seed=int(self.random_state))
        history = Trainer(model, train_config).fit(batcher)
        model.eval()
        self.model_ = model
        self.loss_curve_ = list(history.train_loss)
        return self

    def transform(self, X):
        """X: (N, n_features) -> codes (N, context_size), in X's float dtype."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        codes = self.model_.encode(X.astype(self.model_.dtype, copy=False))
        self.model_.clear_cache()
        return codes.astype(X.dtype)

    def inverse_transform(self, X):
        """codes: (N, context_size) -> reconstructions (N, n_features) in data space."""
        from sklearn.utils import check_array

        check_is_fitted(self, "model_")
        codes = check_array(X, dtype=[np.float64, np.float32])
        if codes.shape[1] != self.context_size:
            raise ValueError(
                f"AutoencoderTransformer.inverse_transform: X must have {self.context_size} columns (the code), "
                f"got {codes.shape[1]}"
            )
        return self.model_.decode_mean(codes.astype(self.model_.dtype, copy=False)).astype(codes.dtype)

    def score(self, X, y=None) -> float:
        """Negative mean squared reconstruction error: higher is better, as GridSearchCV expects."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        x = X.astype(self.model_.dtype, copy=False)
        return -float(np.mean((self.model_.reconstruct(x) - x) ** 2))
