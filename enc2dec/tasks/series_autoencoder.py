"""The sequence autoencoder on windows of a series (the `sequence_autoencoder` model): each window of W steps is
encoded into a context vector of C numbers and reconstructed from it alone; compared with PCA (C components) on
the same flattened windows.

Windows lie wholly inside one part of the series (train, valid, test; split by time as for forecasting); the
framing (scale) is fitted on the training windows. Each evaluation records the validation windows'
reconstruction MSE in the model's numbers (valid_mse).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np

from enc2dec import baselines
from enc2dec.data.arrays import ArrayBatcher
from enc2dec.data.series import Series
from enc2dec.data.windows import Framing, calendar_features, cut_windows, split_points, window_origins
from enc2dec.models.forecast import SequenceAutoencoder
from enc2dec.nn.checks import check_int_field
from enc2dec.nn.module import Module
from enc2dec.tasks.base import Task, Writer
from enc2dec.tasks.forecast import FRAMING_FILE, SeriesConfig, framing_file, load_framing, load_series, series_period
from enc2dec.tasks.registry import model_choice
from enc2dec.training import TrainConfig, checkpoint


@dataclass(frozen=True)
class WindowDataConfig(SeriesConfig):
    window_length: int = 52  # W
    stride: int = 1  # between training windows (validation and test windows: test_stride)
    target: str = "mean"  # level | mean: windows as standard scores, or relative to their own mean
    harmonics: int = 0  # calendar features; 0: the context alone must carry everything, as PCA's components

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.target not in ("level", "mean"):
            raise ValueError(f"WindowDataConfig.target must be 'level' or 'mean', got {self.target!r}")
        for name in ("window_length", "stride"):
            check_int_field("WindowDataConfig", name, getattr(self, name), 1)
        check_int_field("WindowDataConfig", "harmonics", self.harmonics, 0, note="0: no calendar features")


@dataclass(frozen=True)
class SeriesAutoencoderConfig:
    task: Literal["series_autoencoder"]
    model: Annotated[Any, model_choice("series_autoencoder")]  # {type: sequence_autoencoder, ...}
    training: TrainConfig
    data: WindowDataConfig = field(default_factory=WindowDataConfig)

    def __post_init__(self) -> None:
        if self.model.feature_size != 2 * self.data.harmonics:
            raise ValueError(
                f"model.feature_size must be 2 * data.harmonics = {2 * self.data.harmonics}, "
                f"got {self.model.feature_size}"
            )


@dataclass
class WindowData:
    """Windows of W steps wholly inside each part: raw x (N, W), the model's numbers src (N, W) float32, start
    steps (N,), calendar features (N, W, F); the framing fitted on the training windows."""

    framing: Framing
    period: float
    offset: float  # Series.step_offset, for the calendar features
    starts: dict[str, np.ndarray]
    x: dict[str, np.ndarray]
    src: dict[str, np.ndarray]
    features: dict[str, np.ndarray]

    def batch(self, part: str) -> tuple[np.ndarray, ...]:
        src = self.src[part]
        return src, np.full(len(src), src.shape[1], dtype=np.int64), self.features[part]


def window_data(d: WindowDataConfig, series: Series, framing: Framing | None = None) -> WindowData:
    """The windows of each part; the framing fitted on the training windows unless given."""
    W, n = d.window_length, len(series)
    period = series_period(d, series)
    valid_start, test_start = split_points(n, d.test_fraction, d.valid_fraction)
    spans = {"train": (0, valid_start, d.stride), "valid": (valid_start, test_start, d.test_stride),
             "test": (test_start, n, d.test_stride)}  # fmt: skip
    starts, x = {}, {}
    for part, (a, b, stride) in spans.items():
        ends = window_origins(W, 0, start=a + W, stop=b, stride=stride)
        if len(ends) == 0:
            raise ValueError(f"{series.name}: the {part} part (steps {a} to {b - 1}) holds no window of {W} steps")
        starts[part], x[part] = ends - W, cut_windows(series.values, ends, W, 0)[0]
    framing = framing or Framing.fit(d.target, round(period), x["train"])
    src = {part: framing.encode(v)[0] for part, v in x.items()}
    offset = series.step_offset
    feats = {part: calendar_features(s + W + offset, W, 0, period, d.harmonics)[0] for part, s in starts.items()}
    return WindowData(framing, period, offset, starts, x, src, feats)


def reconstruct(model: SequenceAutoencoder, x: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
    """x: (N, W) in the model's numbers -> the reconstruction through the context (N, W), in batches of 512."""
    parts = [model.reconstruct(x[i : i + 512], None, None if features is None else features[i : i + 512])
             for i in range(0, len(x), 512)]  # fmt: skip
    return np.concatenate(parts) if parts else np.zeros_like(x)


def reconstruction_mse(model: Module, data: WindowData, part: str) -> float:
    x = data.src[part]
    features = data.features[part] if model.config.feature_size else None
    return float(np.mean((reconstruct(model, x, features) - x) ** 2))


@dataclass
class TrainedSeriesAutoencoder:
    model: SequenceAutoencoder
    config: SeriesAutoencoderConfig
    framing: Framing

    def encode(self, data: WindowData, part: str) -> np.ndarray:
        """The contexts (N, C) of one part's windows."""
        F = self.model.config.feature_size
        return self.model.encode(data.src[part], None, data.features[part] if F else None)


class SeriesAutoencoderTask(Task):
    name = "series_autoencoder"
    config_class = SeriesAutoencoderConfig

    def metrics(self) -> dict[str, str]:
        return {"valid_mse": "min"}

    def load_data(self) -> WindowData:
        return window_data(self.config.data, load_series(self.config.data))

    def split_sizes(self, data: WindowData) -> dict[str, Any]:
        return {part: len(v) for part, v in data.src.items()}

    def build_model(self, data: WindowData | None = None) -> Module:
        return SequenceAutoencoder(self.config.model, rng=np.random.default_rng(self.config.training.seed))

    def batches(self, data: WindowData) -> tuple[Any, Any]:
        d = self.config.data
        train = ArrayBatcher(*data.batch("train"), batch_size=d.batch_size, seed=d.seed)
        return train, ArrayBatcher(*data.batch("valid"), batch_size=256, shuffle=False)

    def validate(self, model: Module, data: WindowData, comm: Any) -> dict[str, float]:
        return {"valid_mse": reconstruction_mse(model, data, "valid")}

    def model_files(self, data: WindowData) -> dict[str, Writer]:
        return framing_file(data.framing)

    def load(self, model_dir: Path) -> TrainedSeriesAutoencoder:
        model = self.build_model()
        checkpoint.load_weights(model_dir, model)
        return TrainedSeriesAutoencoder(model.eval(), self.config, load_framing(model_dir / FRAMING_FILE))

    def compute_limits(self) -> Any:
        return baselines.one_blas_thread()

    def evaluate(self, trained: TrainedSeriesAutoencoder, split: str, out_dir: Path | None,
                 comm: Any) -> dict[str, Any] | None:  # fmt: skip
        """Reconstruction MSE of the split's windows, and PCA's with C components fitted on the training windows
        (by rank 0 alone)."""
        if comm.rank > 0:
            return None
        from sklearn.decomposition import PCA

        data = window_data(self.config.data, load_series(self.config.data), trained.framing)
        C = trained.model.config.context_size
        pca = PCA(n_components=min(C, *data.src["train"].shape), random_state=0).fit(data.src["train"])
        x = data.src[split]
        pca_mse = float(np.mean((pca.inverse_transform(pca.transform(x)) - x) ** 2))
        mse = reconstruction_mse(trained.model, data, split)
        if out_dir is not None and C == 2:
            from enc2dec import plots

            phase = (data.starts[split] + data.offset) % data.period  # where in the season each window starts
            plots.plot_contexts(trained.encode(data, split), phase, out_dir / "contexts.png", cyclic=True,
                                colour_label="season phase of the window's start (steps)")  # fmt: skip
        return {f"{split}_mse": mse, f"{split}_pca_mse": pca_mse, "ratio": mse / pca_mse, "n_windows": len(x)}
