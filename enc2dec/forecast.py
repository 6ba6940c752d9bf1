"""The forecasting application: train, predict and evaluate an encoder-decoder forecaster against baselines,
driven by a YAML config.

    cfg = load_config("configs/forecast_co2.yaml")
    result = train(cfg, "runs/forecast")           # checkpoints in runs/forecast/{best,last}; the best by valid MAE
    future = predict("runs/forecast")              # the next h steps after the series' end (mean; 95 % band)
    report = evaluate("runs/forecast")             # rolling origin over the test part: MAE, RMSE, MASE of the
                                                   # encoder-decoder, naive, seasonal naive and statsmodels' model

The CLI verbs `enc2dec forecast train | predict | evaluate` call these functions; the sequence autoencoder on the
same series, configured in the same file, is enc2dec.series_autoencoder. The series is split by time
(enc2dec.data.windows): train, validation (model selection: the free-running forecast's MAE), test (held out); the
scale is fitted on the training windows only, and the statistical model on everything before the test part.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from enc2dec import baselines
from enc2dec.baselines import StatisticalConfig
from enc2dec.data.arrays import ArrayBatcher
from enc2dec.data.series import Series, check_length, dates_after, load_co2, load_csv, load_sunspots
from enc2dec.data.windows import (
    TARGETS,
    Framing,
    Windows,
    calendar_features,
    cut_windows,
    split_points,
    window_origins,
)
from enc2dec.models.forecast import Forecaster, ForecasterConfig, SequenceAutoencoderConfig
from enc2dec.nn.module import Module
from enc2dec.training import History, TrainConfig, Trainer, checkpoint

log = logging.getLogger(__name__)

DATASETS = ("co2", "sunspots", "csv")
FRAMING_FILE = "framing.json"
Z95 = 1.959964  # the standard normal's 97.5 % quantile


@dataclass(frozen=True)
class DataConfig:
    """The series, its split by time, the windows and the model's numbers (enc2dec.data.series, .windows)."""

    dataset: str = "co2"  # co2 | sunspots (statsmodels) | csv
    path: str | None = None  # csv: the file
    column: str | None = None  # csv: the value column
    time_column: str | None = None  # csv: an ISO date column, checked for gaps (optional)
    period: float | None = None  # the season in steps; None: the dataset's (co2: 365.25/7 weeks, sunspots: 11)
    input_length: int = 104  # L, steps the encoder reads
    horizon: int = 52  # h, steps forecast
    stride: int = 1  # between training windows
    test_stride: int = 1  # between validation and test origins (rolling origin)
    test_fraction: float = 0.2  # the last 20 % are held out
    valid_fraction: float = 0.1  # of what comes before the test part, its end
    target: str = "mean"  # level | last | mean | season | trend: what the model's numbers are relative to (Framing)
    harmonics: int = 1  # calendar features: sin/cos of j times the seasonal phase, j = 1..harmonics; 0: none
    batch_size: int = 64
    seed: int = 0  # batch order

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"DataConfig.dataset must be one of {DATASETS}, got {self.dataset!r}")
        if self.dataset == "csv" and (self.path is None or self.column is None):
            raise ValueError("DataConfig: dataset 'csv' needs data.path and data.column")
        if self.target not in TARGETS:
            raise ValueError(f"DataConfig.target must be one of {TARGETS}, got {self.target!r}")
        for name in ("input_length", "horizon", "stride", "test_stride", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"DataConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.harmonics < 0:
            raise ValueError(f"DataConfig.harmonics must be >= 0, got {self.harmonics}")


@dataclass(frozen=True)
class AutoencoderRunConfig:
    """The sequence autoencoder on windows of the same series, compared with PCA on the same flattened windows."""

    model: SequenceAutoencoderConfig
    training: TrainConfig
    window_length: int = 52  # W
    stride: int = 1  # between training windows (held-out windows: data.test_stride)
    target: str = "mean"  # level | mean: windows as standard scores, or relative to their own mean
    harmonics: int = 0  # calendar features; 0: the context alone must carry everything, as PCA's components

    def __post_init__(self) -> None:
        if self.target not in ("level", "mean"):
            raise ValueError(f"AutoencoderRunConfig.target must be 'level' or 'mean', got {self.target!r}")


@dataclass(frozen=True)
class ForecastRunConfig:
    model: ForecasterConfig
    training: TrainConfig
    data: DataConfig = field(default_factory=DataConfig)
    statistical: StatisticalConfig = field(default_factory=StatisticalConfig)
    autoencoder: AutoencoderRunConfig | None = None


def load_config(path: str | Path, overrides: list[str] | None = None) -> ForecastRunConfig:
    from enc2dec import config

    return config.load(path, ForecastRunConfig, overrides)


# -- data ------------------------------------------------------------------------------------------------------------
def load_series(cfg: DataConfig) -> Series:
    if cfg.dataset == "co2":
        return load_co2()
    if cfg.dataset == "sunspots":
        return load_sunspots()
    return load_csv(cfg.path, cfg.column, time_column=cfg.time_column, period=cfg.period)


@dataclass
class ForecastData:
    series: Series
    config: DataConfig
    period: float
    framing: Framing
    valid_start: int
    test_start: int
    parts: dict[str, Windows]  # train | valid | test

    @property
    def season(self) -> int:
        return self.framing.season


def _period(cfg: DataConfig, series: Series) -> float:
    period = cfg.period or series.period
    if period is None or not period > 1:
        raise ValueError(f"{series.name}: data.period (the season, in steps, > 1) is needed, got {period}")
    return float(period)


def prepare(cfg: DataConfig, series: Series | None = None) -> ForecastData:
    """The series split by time into training, validation and test windows; the framing fitted on training."""
    series = load_series(cfg) if series is None else series
    period = _period(cfg, series)
    L, h, n = cfg.input_length, cfg.horizon, len(series)
    check_length(series, L + h, f"one window (input_length {L} + horizon {h})")
    valid_start, test_start = split_points(n, cfg.test_fraction, cfg.valid_fraction)
    spans = {"train": (L, valid_start, cfg.stride), "valid": (valid_start, test_start, cfg.test_stride),
             "test": (test_start, n, cfg.test_stride)}  # fmt: skip
    origins = {}
    for part, (start, stop, stride) in spans.items():
        origins[part] = window_origins(L, h, start=start, stop=stop, stride=stride)
        if len(origins[part]) == 0:
            first = 0 if part == "train" else start
            raise ValueError(
                f"{series.name}: the {part} part (steps {first} to {stop - 1}) holds no window of input_length {L} "
                f"and horizon {h}; use a longer series, shorter windows or other data.test_fraction/valid_fraction"
            )
    x_train, y_train = cut_windows(series.values, origins["train"], L, h)
    framing = Framing.fit(cfg.target, round(period), x_train, y_train)
    offset = series.step_offset
    parts = {p: Windows.cut(series.values, o, L, h, framing, period, cfg.harmonics, offset) for p, o in origins.items()}
    return ForecastData(series, cfg, period, framing, valid_start, test_start, parts)


# -- the trained model -----------------------------------------------------------------------------------------------
@dataclass
class TrainedForecaster:
    """A forecaster with what it needs to read a series: its run config and the framing fitted in training."""

    model: Forecaster
    config: ForecastRunConfig
    framing: Framing

    def forecast(self, x: np.ndarray, times: np.ndarray, period: float) -> tuple[np.ndarray, np.ndarray | None]:
        """x: (N, L) raw inputs ending before the origins, times: (N,) the origins' times in steps (origin +
        Series.step_offset) -> mean (N, h) and standard deviation (N, h) (Gaussian head; else None), data units."""
        d = self.config.data
        src, _ = self.framing.encode(x)
        src_f, tgt_f = calendar_features(times, d.input_length, d.horizon, period, d.harmonics)
        F = self.model.config.feature_size
        mu, logvar = self.model.forecast(src, d.horizon, src_f if F else None, tgt_f if F else None)
        std = None if logvar is None else self.framing.scale * np.exp(0.5 * logvar.astype(np.float64))
        return self.framing.decode(x, mu), std


def _check_model_config(cfg: ForecastRunConfig) -> None:
    if cfg.model.feature_size != 2 * cfg.data.harmonics:
        raise ValueError(
            f"model.feature_size must be 2 * data.harmonics = {2 * cfg.data.harmonics} (sin and cos per harmonic), "
            f"got {cfg.model.feature_size}"
        )


@dataclass
class TrainResult:
    trained: TrainedForecaster
    history: History
    data: ForecastData
    valid_mae: float  # the selected model's validation MAE (free-running forecasts, data units)
    checkpoint_dir: Path | None


def _fit_keeping_best(model: Module, cfg: TrainConfig, train: ArrayBatcher, valid: ArrayBatcher, metric: Any,
                      name: str, out_dir: Path | None, run_config: dict, files: Any) -> tuple[History, float]:  # fmt: skip
    """Train; after each evaluation `metric(model)` (lower is better) is recorded as `name`; the model ends with
    the weights that scored best (also written to out_dir/best)."""
    best: dict[str, Any] = {"value": float("inf"), "state": None}

    def evaluate(m: Module) -> dict[str, float]:
        value = float(metric(m))
        if value < best["value"]:
            best.update(value=value, state=copy.deepcopy(m.state_dict()))
        return {name: value}

    cfg = replace(cfg, best_metric=name, best_mode="min")
    trainer = Trainer(model, cfg, out_dir=out_dir, evaluate=evaluate, run_config=run_config, checkpoint_files=files)
    history = trainer.fit(train, valid)
    if best["state"] is not None:
        model.load_state_dict(best["state"])
    model.eval()
    return history, best["value"]


def _framing_file(framing: Framing) -> dict:
    return {FRAMING_FILE: lambda tmp: checkpoint.save_json(tmp, framing.to_dict())}


@baselines.one_blas_thread()
def train(
    cfg: ForecastRunConfig, out_dir: str | Path | None = None, *, series: Series | None = None, progress: bool = False
) -> TrainResult:
    """Train the forecaster on the training windows; keep the weights whose free-running validation forecasts have
    the lowest MAE (valid_mae, each evaluation). With out_dir: checkpoints (best/, last/), metrics.jsonl, loss.png."""
    from enc2dec import config as config_io

    _check_model_config(cfg)
    data = prepare(cfg.data, series)
    model = Forecaster(cfg.model, rng=np.random.default_rng(cfg.training.seed))
    trained = TrainedForecaster(model, cfg, data.framing)
    valid = data.parts["valid"]

    def valid_mae(m: Module) -> float:
        mean, _ = trained.forecast(valid.x, valid.origins + data.series.step_offset, data.period)
        return baselines.errors(mean, valid.y, 1.0)["mae"]

    batcher = ArrayBatcher(*data.parts["train"].arrays(), batch_size=cfg.data.batch_size, seed=cfg.data.seed)
    valid_batches = ArrayBatcher(*valid.arrays(), batch_size=256, shuffle=False)
    training = replace(cfg.training, progress=progress or cfg.training.progress)
    out = None if out_dir is None else Path(out_dir)
    history, best = _fit_keeping_best(model, training, batcher, valid_batches, valid_mae, "valid_mae", out,
                                      config_io.to_dict(cfg), lambda: _framing_file(data.framing))  # fmt: skip
    log.info("forecaster: best validation MAE %.4f", best)
    return TrainResult(trained, history, data, best, None if out is None else out / "best")


def _checkpoint_dir(path: str | Path) -> Path:
    path = Path(path)
    for candidate in (path, path / "best", path / "last"):
        if (candidate / checkpoint.MODEL_FILE).is_file() and (candidate / FRAMING_FILE).is_file():
            return candidate
    raise FileNotFoundError(f"{path}: not a forecast checkpoint (no {checkpoint.MODEL_FILE} and {FRAMING_FILE})")


def _load_run(path: Path) -> tuple[ForecastRunConfig, Framing]:
    from enc2dec import config as config_io

    cfg = config_io.from_dict(ForecastRunConfig, checkpoint.load_yaml(path / checkpoint.CONFIG_FILE), str(path))
    framing = Framing(**checkpoint.load_json(path / FRAMING_FILE))
    return cfg, framing


def load(path: str | Path) -> TrainedForecaster:
    """A trained forecaster from a run folder (its best/ checkpoint, else last/) or a checkpoint directory."""
    path = _checkpoint_dir(path)
    cfg, framing = _load_run(path)
    model = Forecaster(cfg.model, rng=np.random.default_rng(cfg.training.seed))
    checkpoint.load_weights(path, model)
    model.eval()
    return TrainedForecaster(model, cfg, framing)


def _as_trained(model: TrainedForecaster | str | Path) -> TrainedForecaster:
    return model if isinstance(model, TrainedForecaster) else load(model)


def _series(trained: TrainedForecaster, series: Series | None, csv: str | None) -> Series:
    if series is not None:
        return series
    d = trained.config.data
    return load_series(replace(d, dataset="csv", path=csv) if csv is not None else d)


# -- predict ---------------------------------------------------------------------------------------------------------
@dataclass
class Prediction:
    """The forecast of the h steps from `origin` (the step after the last one read): steps (h,) int, dates (h,)
    datetime64 or None, mean (h,), and for a Gaussian head a 95 % band lower, upper (h,); history: the L inputs,
    history_x: their dates (or steps); truth: the known values of the forecast steps (origin inside the series)."""

    origin: int
    steps: np.ndarray
    dates: np.ndarray | None
    mean: np.ndarray
    lower: np.ndarray | None
    upper: np.ndarray | None
    history: np.ndarray
    history_x: np.ndarray
    truth: np.ndarray


@baselines.one_blas_thread()
def predict(
    model: TrainedForecaster | str | Path, series: Series | None = None, *, origin: int | None = None,
    csv: str | None = None,
) -> Prediction:  # fmt: skip
    """Forecast h steps from `origin` (default: the series' end, i.e. the future) using the L values before it.
    The series: `series`, else the model's configured data (`csv` names another file with the same columns)."""
    trained = _as_trained(model)
    series = _series(trained, series, csv)
    d = trained.config.data
    L, h, n = d.input_length, d.horizon, len(series)
    origin = n if origin is None else int(origin)
    if not L <= origin <= n:
        raise ValueError(f"predict: origin must be in [{L}, {n}] (input_length {L}, {n} values), got {origin}")
    x = series.values[origin - L : origin][None, :]  # (1, L)
    mean, std = trained.forecast(x, np.array([origin + series.step_offset]), _period(d, series))
    steps = origin + np.arange(h)
    dates = None
    if series.dates is not None and n > 1:  # known dates, then the usual step on from the last one
        dates = np.concatenate([series.dates[origin:], dates_after(series.dates, max(origin + h - n, 0))])[:h]
    lower = upper = None
    if std is not None:
        lower, upper = mean[0] - Z95 * std[0], mean[0] + Z95 * std[0]
    history_x = _axis(series, np.arange(origin - L, origin))
    truth = series.values[origin : origin + h]
    return Prediction(origin, steps, dates, mean[0], lower, upper, x[0], history_x, truth)


def plot_prediction(p: Prediction, path: str | Path, title: str = "") -> Path:
    """The forecast after its input window (and the truth where the series goes on), with the 95 % band if any."""
    from enc2dec import plots

    x = p.steps if p.dates is None else p.dates
    panel = {"history": (p.history_x, p.history), "x": x, "truth": (x[: len(p.truth)], p.truth),
             "forecasts": {"encoder-decoder": p.mean}, "band": None if p.lower is None else (p.lower, p.upper),
             "title": title or f"forecast from {x[0]}"}  # fmt: skip
    return plots.plot_forecasts([panel], path)


# -- evaluate --------------------------------------------------------------------------------------------------------
@dataclass
class Evaluation:
    metrics: dict[str, float]  # {mae,rmse,mase}_{encdec,naive,seasonal_naive,statsmodels}, and counts
    by_step: dict[str, np.ndarray]  # method -> (h,) MAE at each horizon step
    forecasts: dict[str, np.ndarray]  # method -> (N, h) over the test origins
    std: np.ndarray | None  # (N, h), the encoder-decoder's predicted standard deviation (Gaussian head)
    data: ForecastData
    statistical_model: str | None
    pictures: dict[str, Path] = field(default_factory=dict)


@baselines.one_blas_thread()
def evaluate(
    model: TrainedForecaster | str | Path,
    series: Series | None = None,
    *,
    csv: str | None = None,
    out_dir: str | Path | None = None,
    statistical: baselines.StatisticalForecaster | None = None,
) -> Evaluation:
    """Rolling origin over the test part: every test origin forecasts h steps from the values before it. The
    encoder-decoder against naive, seasonal naive and the configured statsmodels model (fitted on everything
    before the test part, or `statistical` if given). Targets the loader filled in (gaps) are not scored.
    With out_dir: evaluation.json and the pictures forecast_examples.png and error_by_step.png."""
    trained = _as_trained(model)
    cfg = trained.config
    data = prepare(cfg.data, _series(trained, series, csv))
    test, values, m = data.parts["test"], data.series.values, data.season
    forecasts = {"encdec": None, "naive": baselines.naive(values, test.origins, cfg.data.horizon),
                 "seasonal_naive": baselines.seasonal_naive(values, test.origins, cfg.data.horizon, m)}  # fmt: skip
    forecasts["encdec"], std = trained.forecast(test.x, test.origins + data.series.step_offset, data.period)
    name = None
    if cfg.statistical.model != "none":
        if statistical is None:
            statistical = baselines.fit_statistical(cfg.statistical, values[: data.test_start], m)
        forecasts["statsmodels"] = statistical.forecast(values, test.origins, cfg.data.horizon)
        name = statistical.name
    keep = None
    if data.series.filled is not None:
        keep = ~data.series.filled[test.origins[:, None] + np.arange(cfg.data.horizon)[None, :]]  # (N, h)
    scale = baselines.mase_scale(values[: data.test_start], m)
    metrics: dict[str, float] = {}
    for method, f in forecasts.items():
        for metric, value in baselines.errors(f, test.y, scale, keep).items():
            metrics[f"{metric}_{method}"] = value
    metrics.update(n_origins=len(test.origins), mase_scale=scale, n_filled=data.series.n_filled)
    if keep is not None:
        metrics["n_targets_not_scored"] = int((~keep).sum())
    if statistical is not None:
        metrics["statsmodels_fit_seconds"] = statistical.fit_seconds
    by_step = {k: baselines.mae_by_step(f, test.y, keep) for k, f in forecasts.items()}
    result = Evaluation(metrics, by_step, forecasts, std, data, name)
    if out_dir is not None:
        out_dir = Path(out_dir)
        checkpoint.save_json(out_dir / "evaluation.json", {"statistical_model": name, "metrics": metrics,
                             "mae_by_step": {k: v.tolist() for k, v in by_step.items()}})  # fmt: skip
        result.pictures = evaluation_pictures(result, out_dir / "forecast_examples.png", out_dir / "error_by_step.png")
    return result


def evaluation_pictures(
    result: Evaluation, examples: Path, by_step: Path, *, n_examples: int = 3, names: dict[str, str] | None = None
) -> dict[str, Path]:
    """Forecasts from `n_examples` test origins (first, middle, last) with history and truth; MAE by step.
    names: labels for methods added to result.forecasts and result.by_step beyond the evaluated ones."""
    from enc2dec import plots

    data, test = result.data, result.data.parts["test"]
    labels = {"encdec": "encoder-decoder", "naive": "naive", "seasonal_naive": "seasonal naive",
              "statsmodels": result.statistical_model or "statsmodels", **(names or {})}  # fmt: skip
    panels = []
    for i in np.unique(np.linspace(0, len(test.origins) - 1, n_examples).round().astype(int)):
        t = int(test.origins[i])
        band = None
        if result.std is not None:
            mean = result.forecasts["encdec"][i]
            band = (mean - Z95 * result.std[i], mean + Z95 * result.std[i])
        panels.append({
            "history": (_axis(data.series, np.arange(t - test.x.shape[1], t)), test.x[i]),
            "x": _axis(data.series, np.arange(t, t + test.y.shape[1])),
            "truth": (_axis(data.series, np.arange(t, t + test.y.shape[1])), test.y[i]),
            "forecasts": {labels[k]: f[i] for k, f in result.forecasts.items() if k != "naive"},
            "band": band,
            "title": f"origin {_label(data.series, t)}",
        })  # fmt: skip
    return {
        "forecast_examples": plots.plot_forecasts(panels, examples, title=data.series.name),
        "error_by_step": plots.plot_error_by_step({labels[k]: v for k, v in result.by_step.items()}, by_step,
                                                  title=f"{data.series.name}: {len(test.origins)} test origins"),
    }  # fmt: skip


def _axis(series: Series, steps: np.ndarray) -> np.ndarray:
    return series.dates[steps] if series.dates is not None else steps


def _label(series: Series, step: int) -> str:
    return str(series.dates[step]) if series.dates is not None else f"step {step}"
