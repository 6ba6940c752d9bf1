"""Forecasting: a window of a real-valued series -> the next h steps (the `forecaster` model), against naive,
seasonal naive and a statsmodels model.

The series is split by time (enc2dec.data.windows): train, valid (model selection: the free-running forecast's
MAE, valid_mae, at each evaluation), test (held out); the scale is fitted on the training windows only.
`evaluate` runs a rolling origin over the valid or test part: every origin forecasts h steps from the values
before it; the statistical model is fitted on everything before that part, then run with its parameters fixed.
`predict` forecasts the h steps after the series' end (or any origin).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal

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
from enc2dec.models.forecast import Forecaster
from enc2dec.nn.checks import check_float_field, check_int_field
from enc2dec.nn.module import Module
from enc2dec.tasks.base import Task, Writer
from enc2dec.tasks.registry import model_choice
from enc2dec.training import TrainConfig, checkpoint, distributed

log = logging.getLogger(__name__)

DATASETS = ("co2", "sunspots", "csv")
FRAMING_FILE = "framing.json"
ORIGINS_PER_CALL = 128  # rolling-origin forecasts a call: the unit the processes of `mpiexec -n N` share
Z95 = 1.959964  # the standard normal's 97.5 % quantile


@dataclass(frozen=True)
class SeriesConfig:
    """Which series and its split by time (enc2dec.data.series, .windows); shared by forecast and series_autoencoder."""

    dataset: str = "co2"  # co2 | sunspots (statsmodels) | csv
    path: str | None = None  # csv: the file
    column: str | None = None  # csv: the value column
    time_column: str | None = None  # csv: an ISO date column, checked for gaps (optional)
    period: float | None = None  # the season in steps; None: the dataset's (co2: 365.25/7 weeks, sunspots: 11)
    test_fraction: float = 0.2  # the last 20 % are held out
    valid_fraction: float = 0.1  # of what comes before the test part, its end
    test_stride: int = 1  # between validation and test origins (rolling origin)
    batch_size: int = 64
    seed: int = 0  # batch order

    def __post_init__(self) -> None:
        name = type(self).__name__
        if self.dataset not in DATASETS:
            raise ValueError(f"{name}.dataset must be one of {DATASETS}, got {self.dataset!r}")
        if self.dataset == "csv" and (self.path is None or self.column is None):
            raise ValueError(f"{name}: dataset 'csv' needs data.path and data.column")
        if self.dataset != "csv" and (self.path, self.column, self.time_column) != (None, None, None):
            raise ValueError(f"{name}: path, column and time_column are for dataset 'csv', got {self.dataset!r}")
        check_float_field(name, "period", self.period, 1.0, bounds="(]", optional=True)  # steps in a season
        for field_name in ("test_fraction", "valid_fraction"):
            check_float_field(name, field_name, getattr(self, field_name), 0.0, 1.0, "()")
        for field_name in ("test_stride", "batch_size"):
            check_int_field(name, field_name, getattr(self, field_name), 1)
        check_int_field(name, "seed", self.seed, 0)


@dataclass(frozen=True)
class ForecastDataConfig(SeriesConfig):
    """The series, its split, the windows and the model's numbers."""

    input_length: int = 104  # L, steps the encoder reads
    horizon: int = 52  # h, steps forecast
    stride: int = 1  # between training windows
    target: str = "mean"  # level | last | mean | season | trend: what the model's numbers are relative to (Framing)
    harmonics: int = 1  # calendar features: sin/cos of j times the seasonal phase, j = 1..harmonics; 0: none

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.target not in TARGETS:
            raise ValueError(f"ForecastDataConfig.target must be one of {TARGETS}, got {self.target!r}")
        for name in ("input_length", "horizon", "stride"):
            check_int_field("ForecastDataConfig", name, getattr(self, name), 1)
        check_int_field("ForecastDataConfig", "harmonics", self.harmonics, 0, note="0: no calendar features")


@dataclass(frozen=True)
class ForecastConfig:
    task: Literal["forecast"]
    model: Annotated[Any, model_choice("forecast")]  # {type: forecaster, ...}
    training: TrainConfig
    data: ForecastDataConfig = field(default_factory=ForecastDataConfig)
    statistical: StatisticalConfig = field(default_factory=StatisticalConfig)

    def __post_init__(self) -> None:
        if self.model.feature_size != 2 * self.data.harmonics:
            raise ValueError(
                f"model.feature_size must be 2 * data.harmonics = {2 * self.data.harmonics} (sin and cos per "
                f"harmonic), got {self.model.feature_size}"
            )


# -- data ------------------------------------------------------------------------------------------------------------
def load_series(cfg: SeriesConfig) -> Series:
    if cfg.dataset == "co2":
        return load_co2()
    if cfg.dataset == "sunspots":
        return load_sunspots()
    return load_csv(cfg.path, cfg.column, time_column=cfg.time_column, period=cfg.period)


@dataclass
class ForecastData:
    series: Series
    config: ForecastDataConfig
    period: float
    framing: Framing
    valid_start: int
    test_start: int
    parts: dict[str, Windows]  # train | valid | test

    @property
    def season(self) -> int:
        return self.framing.season


def series_period(cfg: SeriesConfig, series: Series) -> float:
    period = cfg.period or series.period
    if period is None or not period > 1:
        raise ValueError(f"{series.name}: data.period (the season, in steps, > 1) is needed, got {period}")
    return float(period)


def prepare(cfg: ForecastDataConfig, series: Series | None = None) -> ForecastData:
    """The series split by time into training, validation and test windows; the framing fitted on training."""
    series = load_series(cfg) if series is None else series
    period = series_period(cfg, series)
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
    config: ForecastConfig
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

    def forecast_rows(self, x: np.ndarray, times: np.ndarray, period: float,
                      comm: Any) -> tuple[np.ndarray, np.ndarray | None] | None:  # fmt: skip
        """forecast() with the rows shared among the processes of comm (distributed.shard_rows, ORIGINS_PER_CALL
        rows a call): rank 0 gets them all in input order, bit-identical to one process; the others get None."""
        h = self.config.data.horizon

        def rows(index: np.ndarray) -> np.ndarray:  # (n,) -> (n, h) means, then (n, h) deviations if any
            mean, std = self.forecast(x[index], times[index], period)
            return mean if std is None else np.concatenate([mean, std], axis=1)

        out = distributed.shard_rows(comm, np.arange(len(x)), rows, chunk=ORIGINS_PER_CALL)
        if out is None:
            return None
        return (out, None) if out.shape[1] == h else (out[:, :h], out[:, h:])


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
    trained: TrainedForecaster, series: Series | None = None, *, origin: int | None = None, csv: str | None = None
) -> Prediction:
    """Forecast h steps from `origin` (default: the series' end, i.e. the future) using the L values before it.
    The series: `series`, else the model's configured data (`csv` names another file with the same columns)."""
    series = _series(trained, series, csv)
    d = trained.config.data
    L, h, n = d.input_length, d.horizon, len(series)
    origin = n if origin is None else int(origin)
    if not L <= origin <= n:
        raise ValueError(f"predict: origin must be in [{L}, {n}] (input_length {L}, {n} values), got {origin}")
    x = series.values[origin - L : origin][None, :]  # (1, L)
    mean, std = trained.forecast(x, np.array([origin + series.step_offset]), series_period(d, series))
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
    split: str  # valid | test
    metrics: dict[str, float]  # {mae,rmse,mase}_{encdec,naive,seasonal_naive,statsmodels}, and counts
    by_step: dict[str, np.ndarray]  # method -> (h,) MAE at each horizon step
    forecasts: dict[str, np.ndarray]  # method -> (N, h) over the test origins
    std: np.ndarray | None  # (N, h), the encoder-decoder's predicted standard deviation (Gaussian head)
    data: ForecastData
    statistical_model: str | None
    pictures: dict[str, Path] = field(default_factory=dict)


@baselines.one_blas_thread()
def rolling_origin(
    trained: TrainedForecaster,
    split: str = "test",
    series: Series | None = None,
    *,
    csv: str | None = None,
    statistical: baselines.StatisticalForecaster | None = None,
    comm: Any = None,
) -> Evaluation | None:
    """Rolling origin over the `split` part (valid or test): every origin forecasts h steps from the values
    before it. The encoder-decoder against naive, seasonal naive and the configured statsmodels model (fitted on
    everything before that part, or `statistical` if given); MASE scaled by the seasonal naive's in-sample MAE
    before that part. Targets the loader filled in (gaps) are not scored. comm: the processes of `mpiexec -n N`
    share the encoder-decoder's forecasts; rank 0 fits the baselines and returns the evaluation, the others None."""
    cfg = trained.config
    data = prepare(cfg.data, _series(trained, series, csv))
    part, values, m = data.parts[split], data.series.values, data.season
    start = data.valid_start if split == "valid" else data.test_start
    h = cfg.data.horizon
    comm = distributed.SingleProcess() if comm is None else comm
    encdec = trained.forecast_rows(part.x, part.origins + data.series.step_offset, data.period, comm)
    if encdec is None:
        return None
    forecasts = {"encdec": encdec[0], "naive": baselines.naive(values, part.origins, h),
                 "seasonal_naive": baselines.seasonal_naive(values, part.origins, h, m)}  # fmt: skip
    std = encdec[1]
    name = None
    if cfg.statistical.model != "none":
        if statistical is None:
            statistical = baselines.fit_statistical(cfg.statistical, values[:start], m)
        forecasts["statsmodels"] = statistical.forecast(values, part.origins, h)
        name = statistical.name
    keep = None
    if data.series.filled is not None:
        keep = ~data.series.filled[part.origins[:, None] + np.arange(h)[None, :]]  # (N, h)
    scale = baselines.mase_scale(values[:start], m)
    metrics: dict[str, float] = {}
    for method, f in forecasts.items():
        for metric, value in baselines.errors(f, part.y, scale, keep).items():
            metrics[f"{metric}_{method}"] = value
    metrics.update(n_origins=len(part.origins), mase_scale=scale, n_filled=data.series.n_filled)
    if keep is not None:
        metrics["n_targets_not_scored"] = int((~keep).sum())
    if statistical is not None:
        metrics["statsmodels_fit_seconds"] = statistical.fit_seconds
    by_step = {k: baselines.mae_by_step(f, part.y, keep) for k, f in forecasts.items()}
    return Evaluation(split, metrics, by_step, forecasts, std, data, name)


def evaluation_pictures(
    result: Evaluation, examples: Path, by_step: Path, *, n_examples: int = 3, names: dict[str, str] | None = None
) -> dict[str, Path]:
    """Forecasts from `n_examples` test origins (first, middle, last) with history and truth; MAE by step.
    names: labels for methods added to result.forecasts and result.by_step beyond the evaluated ones."""
    from enc2dec import plots

    data, test = result.data, result.data.parts[result.split]
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
                                                  title=f"{data.series.name}: {len(test.origins)} {result.split} origins"),
    }  # fmt: skip


def _axis(series: Series, steps: np.ndarray) -> np.ndarray:
    return series.dates[steps] if series.dates is not None else steps


def _label(series: Series, step: int) -> str:
    return str(series.dates[step]) if series.dates is not None else f"step {step}"


# -- the task ---------------------------------------------------------------------------------------------------------
class ForecastTask(Task):
    name = "forecast"
    config_class = ForecastConfig

    def metrics(self) -> dict[str, str]:
        return {"valid_mae": "min"}

    def compute_limits(self) -> Any:
        return baselines.one_blas_thread()

    def load_data(self) -> ForecastData:
        return prepare(self.config.data)

    def split_sizes(self, data: ForecastData) -> dict[str, Any]:
        sizes = {part: len(w.origins) for part, w in data.parts.items()}
        return sizes | {"steps": len(data.series), "valid_start": data.valid_start, "test_start": data.test_start}

    def build_model(self, data: ForecastData | None = None) -> Module:
        return Forecaster(self.config.model, rng=np.random.default_rng(self.config.training.seed))

    def batches(self, data: ForecastData) -> tuple[Any, Any]:
        d = self.config.data
        train = ArrayBatcher(*data.parts["train"].arrays(), batch_size=d.batch_size, seed=d.seed)
        return train, ArrayBatcher(*data.parts["valid"].arrays(), batch_size=256, shuffle=False)

    def validate(self, model: Module, data: ForecastData, comm: Any) -> dict[str, float]:
        """The free-running forecasts' MAE over the validation origins, in data units."""
        valid = data.parts["valid"]
        trained = TrainedForecaster(model, self.config, data.framing)
        forecasts = trained.forecast_rows(valid.x, valid.origins + data.series.step_offset, data.period, comm)
        return {} if forecasts is None else {"valid_mae": baselines.errors(forecasts[0], valid.y, 1.0)["mae"]}

    def model_files(self, data: ForecastData) -> dict[str, Writer]:
        return framing_file(data.framing)

    def load(self, model_dir: Path) -> TrainedForecaster:
        model = self.build_model()
        checkpoint.load_weights(model_dir, model)
        return TrainedForecaster(model.eval(), self.config, load_framing(model_dir / FRAMING_FILE))

    def evaluate(self, trained: TrainedForecaster, split: str, out_dir: Path | None,
                 comm: Any) -> dict[str, Any] | None:  # fmt: skip
        result = rolling_origin(trained, split, comm=comm)
        if result is None:  # a rank other than 0
            return None
        if out_dir is not None:
            evaluation_pictures(result, out_dir / "forecast_examples.png", out_dir / "error_by_step.png")
        by_step = {k: v.tolist() for k, v in result.by_step.items()}
        return {"split": split, "statistical_model": result.statistical_model, "metrics": result.metrics,
                "mae_by_step": by_step}  # fmt: skip


def framing_file(framing: Framing) -> dict[str, Writer]:
    import json

    return {FRAMING_FILE: lambda path: path.write_text(json.dumps(framing.to_dict()), encoding="utf-8")}


def load_framing(path: Path) -> Framing:
    data = checkpoint.load_json(path)
    try:
        return Framing(data["target"], int(data["season"]), float(data["centre"]), float(data["scale"]))
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path}: expected target, season, centre and scale ({err})") from err
