"""A scikit-learn transformer around the registry's autoencoders: fit, transform (the code), inverse_transform (the
reconstruction), fit_transform, score (negative reconstruction MSE, higher is better), get_params and set_params;
it works inside Pipeline and GridSearchCV. The model is built from the model registry (its type's config dataclass
checks the fields) and trained by the shared Trainer, in X's float dtype (float64 input is computed in float64, as
scikit-learn's own estimators do).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data


class AutoencoderTransformer(TransformerMixin, BaseEstimator):
    """X: (N, n_features) -> codes (N, context_size).

    model: a registered autoencoder type (autoencoder, denoising_autoencoder, sparse_autoencoder,
    contractive_autoencoder, vae); model_params: more fields of that type's config (e.g. {"noise_level": 0.2},
    {"loss": "bce"}, a VAE's {"decoder": "gaussian"}); another type's fields are refused by name. context_size and
    hidden_sizes are parameters of their own, the usual ones to search over.
    """

    def __init__(
        self,
        model: str = "autoencoder",
        context_size: int = 2,
        hidden_sizes: tuple[int, ...] = (32,),
        model_params: dict[str, Any] | None = None,
        epochs: int = 20,
        batch_size: int = 64,
        lr: float = 3e-3,
        random_state: int = 0,
        verbose: bool = False,
    ):
        self.model = model
        self.context_size = context_size
        self.hidden_sizes = hidden_sizes
        self.model_params = model_params
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.random_state = random_state
        self.verbose = verbose

    def _model_config(self, n_features: int) -> Any:
        from enc2dec.tasks.registry import model_choice

        fields = {"input_size": n_features, "context_size": int(self.context_size),
                  "hidden_sizes": [int(h) for h in self.hidden_sizes], **(self.model_params or {})}  # fmt: skip
        return model_choice("autoencoder").convert({"type": self.model, **fields}, "AutoencoderTransformer", "model")

    def fit(self, X, y=None):
        """X: (N, n_features); y is ignored."""
        from enc2dec.data.arrays import ArrayBatcher
        from enc2dec.tasks.registry import model_type_of
        from enc2dec.training import TrainConfig, Trainer

        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=True)
        config = self._model_config(X.shape[1])
        if (config.loss == "bce" or getattr(config, "decoder", None) == "bernoulli") and (X.min() < 0 or X.max() > 1):
            raise ValueError(
                f"AutoencoderTransformer: a binary cross-entropy (Bernoulli) likelihood needs features in [0, 1], "
                f"got [{X.min():.3g}, {X.max():.3g}]"
            )
        rng = np.random.default_rng(self.random_state)
        model = model_type_of(config).model.from_config(config, rng=rng).astype(X.dtype)  # before the optimizer
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
