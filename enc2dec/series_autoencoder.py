"""The sequence autoencoder on windows of a series, compared with PCA on the same flattened windows; configured in
the `autoencoder` section of a forecast config (enc2dec.forecast.ForecastRunConfig).

    cfg = forecast.load_config("configs/forecast_co2.yaml")
    result = train_autoencoder(cfg, "runs/seqae")   # held-out reconstruction MSE, PCA's, the contexts
    contexts = encode(result.model, result.data, windows, starts)  # (N, C)

Windows of W steps lie wholly inside one part of the series (train, validation, test; split by time as for
forecasting); the framing (scale) is fitted on the training windows; the weights with the lowest validation MSE
are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from enc2dec import baselines
from enc2dec.data.arrays import ArrayBatcher
from enc2dec.data.series import Series
from enc2dec.data.windows import Framing, calendar_features, cut_windows, split_points, window_origins
from enc2dec.forecast import (
    AutoencoderRunConfig,
    ForecastRunConfig,
    _fit_keeping_best,
    _framing_file,
    _period,
    load_series,
)
from enc2dec.models.forecast import SequenceAutoencoder
from enc2dec.nn.module import Module
from enc2dec.training import History


@dataclass
class AutoencoderData:
    """Windows of W steps wholly inside each part: raw x (N, W), the model's numbers src (N, W) float32, start
    steps (N,), calendar features (N, W, F); the framing fitted on the training windows."""

    framing: Framing
    period: float
    offset: float  # Series.step_offset, for the calendar features
    starts: dict[str, np.ndarray]
    x: dict[str, np.ndarray]
    src: dict[str, np.ndarray]
    features: dict[str, np.ndarray]


def autoencoder_data(cfg: ForecastRunConfig, series: Series) -> AutoencoderData:
    ae, d = _autoencoder_config(cfg), cfg.data
    W, n = ae.window_length, len(series)
    period = _period(d, series)
    valid_start, test_start = split_points(n, d.test_fraction, d.valid_fraction)
    spans = {"train": (0, valid_start, ae.stride), "valid": (valid_start, test_start, d.test_stride),
             "test": (test_start, n, d.test_stride)}  # fmt: skip
    starts, x = {}, {}
    for part, (a, b, stride) in spans.items():
        ends = window_origins(W, 0, start=a + W, stop=b, stride=stride)
        if len(ends) == 0:
            raise ValueError(f"{series.name}: the {part} part (steps {a} to {b - 1}) holds no window of {W} steps")
        starts[part], x[part] = ends - W, cut_windows(series.values, ends, W, 0)[0]
    framing = Framing.fit(ae.target, round(period), x["train"])
    src = {part: framing.encode(v)[0] for part, v in x.items()}
    offset = series.step_offset
    feats = {part: calendar_features(s + W + offset, W, 0, period, ae.harmonics)[0] for part, s in starts.items()}
    return AutoencoderData(framing, period, offset, starts, x, src, feats)


def _autoencoder_config(cfg: ForecastRunConfig) -> AutoencoderRunConfig:
    if cfg.autoencoder is None:
        raise ValueError("the config has no 'autoencoder' section (model, training, window_length)")
    ae = cfg.autoencoder
    if ae.model.feature_size != 2 * ae.harmonics:
        raise ValueError(f"autoencoder.model.feature_size must be 2 * autoencoder.harmonics = {2 * ae.harmonics}, "
                         f"got {ae.model.feature_size}")  # fmt: skip
    return ae


@dataclass
class AutoencoderResult:
    model: SequenceAutoencoder
    history: History
    data: AutoencoderData
    test_mse: float  # held-out windows' reconstruction MSE, in the model's numbers
    pca_mse: float  # PCA with C components, fitted on the training windows, on the same held-out windows
    contexts: np.ndarray  # (N, C) of the held-out windows

    @property
    def ratio(self) -> float:
        return self.test_mse / self.pca_mse


def _lengths(x: np.ndarray) -> np.ndarray:
    return np.full(len(x), x.shape[1], dtype=np.int64)


@baselines.one_blas_thread()
def train_autoencoder(
    cfg: ForecastRunConfig, out_dir: str | Path | None = None, *, series: Series | None = None, progress: bool = False
) -> AutoencoderResult:
    """Train the sequence autoencoder on the training windows (the weights with the lowest validation MSE kept);
    compare its held-out reconstruction MSE with PCA's (C components) on the same flattened windows."""
    from sklearn.decomposition import PCA

    from enc2dec import config as config_io

    ae = _autoencoder_config(cfg)
    series = load_series(cfg.data) if series is None else series
    data = autoencoder_data(cfg, series)
    model = SequenceAutoencoder(ae.model, rng=np.random.default_rng(ae.training.seed))
    F = ae.model.feature_size

    def batch(part: str) -> tuple[np.ndarray, ...]:
        return data.src[part], _lengths(data.src[part]), data.features[part]

    def mse(m: Module, part: str = "valid") -> float:
        x = data.src[part]
        return float(np.mean((encode_decode(m, x, data.features[part] if F else None) - x) ** 2))

    train_batches = ArrayBatcher(*batch("train"), batch_size=cfg.data.batch_size, seed=cfg.data.seed)
    valid_batches = ArrayBatcher(*batch("valid"), batch_size=256, shuffle=False)
    training = replace(ae.training, progress=progress or ae.training.progress)
    out = None if out_dir is None else Path(out_dir)
    history, _ = _fit_keeping_best(model, training, train_batches, valid_batches, mse, "valid_mse", out,
                                   config_io.to_dict(cfg), lambda: _framing_file(data.framing))  # fmt: skip
    C = ae.model.context_size
    pca = PCA(n_components=min(C, *data.src["train"].shape), random_state=0).fit(data.src["train"])
    test = data.src["test"]
    pca_mse = float(np.mean((pca.inverse_transform(pca.transform(test)) - test) ** 2))
    contexts = model.encode(test, None, data.features["test"] if F else None)
    return AutoencoderResult(model, history, data, mse(model, "test"), pca_mse, contexts)


def encode_decode(model: SequenceAutoencoder, x: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
    """x: (N, W) in the model's numbers -> the reconstruction through the context (N, W), in batches of 512."""
    parts = [model.reconstruct(x[i : i + 512], None, None if features is None else features[i : i + 512])
             for i in range(0, len(x), 512)]  # fmt: skip
    return np.concatenate(parts) if parts else np.zeros_like(x)


def encode(model: SequenceAutoencoder, data: AutoencoderData, x: np.ndarray, starts: np.ndarray | None = None):
    """x: (N, W) raw windows (starting at steps `starts` (N,), needed with calendar features) -> contexts (N, C)."""
    src, _ = data.framing.encode(np.asarray(x, dtype=np.float64))
    feats = None
    if model.config.feature_size:
        if starts is None:
            raise ValueError("encode: the model reads calendar features; give the windows' start steps")
        feats = calendar_features(
            np.asarray(starts) + src.shape[1] + data.offset,
            src.shape[1],
            0,
            data.period,
            model.config.feature_size // 2,
        )[0]
    return model.encode(src, None, feats)
