"""Forecast baselines and errors for rolling-origin evaluation (Hyndman & Athanasopoulos, "Forecasting: Principles
and Practice", sections 5.2, 5.8 and 5.10).

Every method forecasts, from each origin t, the h values y[t : t+h] knowing only y[:t]: an array (N, h) for N
origins.
- naive: the last value, y[t-1];
- seasonal naive: the value one season (m steps) earlier, y[t-m+(k mod m)] for step k;
- a statsmodels state-space model, SARIMA or ETS(A,A,A) (additive error, trend and season: Holt-Winters), whose
  parameters are estimated once, by maximum likelihood on the training part; the model is then run with those
  parameters, unchanged, through the whole series, and the forecast from origin t starts from the filtered state
  a_{t-1} (the state after seeing y[t-1]): y_hat[t+k] = Z T^(k+1) a_{t-1} + d (T, Z, d the transition, design and
  observation intercept; time-invariant). This is what refitting nothing and calling `forecast(h)` at every origin
  gives, for all origins at once.
Errors: MAE, RMSE and MASE, the MAE divided by the in-sample MAE of the seasonal naive forecast on the training
part (Hyndman & Koehler 2006), so MASE < 1 beats seasonal naive's one-season-ahead error in training.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from enc2dec.nn.checks import check_flags, check_int_field

log = logging.getLogger(__name__)

STATISTICAL = ("sarima", "ets", "none")


def naive(values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """values: (n,), origins: (N,) -> (N, h): y[t-1] at every step."""
    return np.repeat(values[origins - 1][:, None], horizon, axis=1)


def seasonal_naive(values: np.ndarray, origins: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """values: (n,), origins: (N,) -> (N, h): y[t - m + (k mod m)] at step k (the last season's value)."""
    if season < 1 or (len(origins) and origins.min() < season):
        raise ValueError(f"seasonal_naive: need 1 <= season <= every origin, got season {season}")
    return values[origins[:, None] - season + np.arange(horizon)[None, :] % season]


def mase_scale(train_values: np.ndarray, season: int) -> float:
    """The in-sample MAE of the seasonal naive forecast: mean |y_t - y_{t-m}| over the training part."""
    if len(train_values) <= season:
        raise ValueError(
            f"mase_scale: the training part ({len(train_values)} values) must be longer than the season {season}"
        )
    return float(np.mean(np.abs(train_values[season:] - train_values[:-season])))


def errors(forecast: np.ndarray, truth: np.ndarray, scale: float, keep: np.ndarray | None = None) -> dict[str, float]:
    """forecast, truth: (N, h), keep: (N, h) bool or None (all) -> {"mae", "rmse", "mase"} over the kept values."""
    e = (forecast - truth) if keep is None else (forecast - truth)[keep]
    mae = float(np.mean(np.abs(e)))
    return {"mae": mae, "rmse": float(math.sqrt(np.mean(e * e))), "mase": mae / scale}


def mae_by_step(forecast: np.ndarray, truth: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """(N, h) each -> (h,): the mean absolute error at each horizon step over the origins (kept values only)."""
    a = np.abs(forecast - truth)
    if keep is None:
        return a.mean(axis=0)
    return (a * keep).sum(axis=0) / np.maximum(keep.sum(axis=0), 1)


@dataclass(frozen=True)
class StatisticalConfig:
    """The statsmodels baseline: SARIMA(p,d,q)(P,D,Q)_m or ETS(A,A,A) with m = the season."""

    model: str = "sarima"  # sarima | ets | none
    order: tuple[int, int, int] = (1, 1, 1)  # SARIMA (p, d, q)
    seasonal_order: tuple[int, int, int] = (0, 1, 1)  # SARIMA (P, D, Q); (0,1,1)(0,1,1) is Box-Jenkins' airline model
    damped_trend: bool = False  # ETS

    def __post_init__(self) -> None:
        if self.model not in STATISTICAL:
            raise ValueError(f"StatisticalConfig.model must be one of {STATISTICAL}, got {self.model!r}")
        for name in ("order", "seasonal_order"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or len(value) != 3:
                raise ValueError(f"StatisticalConfig.{name} must be three ints, got {value!r}")
            for i, item in enumerate(value):
                check_int_field("StatisticalConfig", f"{name}[{i}]", item, 0)
        check_flags(self)

    def describe(self, season: int) -> str:
        if self.model == "sarima":
            return f"SARIMA{self.order}x{(*self.seasonal_order, season)}".replace(" ", "")
        damped = "d" if self.damped_trend else ""
        return f"ETS(A,A{damped},A), m={season}"


@dataclass
class StatisticalForecaster:
    """A statsmodels state-space model fitted on the training part, ready to forecast from any origin."""

    config: StatisticalConfig
    season: int
    results: object  # the statsmodels results of the fit on the training part
    fit_seconds: float

    @property
    def name(self) -> str:
        return self.config.describe(self.season)

    def forecast(self, values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        """values: (n,), the whole series; origins: (N,) -> (N, h), with the fitted parameters held fixed."""
        with one_blas_thread():
            filtered = self._filter(values)
        design = filtered.design[:, :, 0]  # (1, k)
        transition = filtered.transition[:, :, 0]  # (k, k)
        state_intercept = filtered.state_intercept[:, 0]  # (k,)
        obs_intercept = float(filtered.obs_intercept[0, 0])
        for name, a in (("design", filtered.design), ("transition", filtered.transition)):
            if a.shape[-1] != 1:
                raise ValueError(f"{self.name}: a time-varying {name} matrix is not supported")
        state = filtered.filtered_state[:, origins - 1]  # (k, N): after seeing y[t-1]
        out = np.empty((len(origins), horizon))
        for k in range(horizon):
            state = transition @ state + state_intercept[:, None]
            out[:, k] = (design @ state)[0] + obs_intercept
        return out

    def _filter(self, values: np.ndarray):
        """Run the fitted model through `values` with its parameters fixed -> statsmodels' filter results."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.config.model == "ets":
                # "concentrated" initial states would be recomputed from all the values: give them, as fitted
                from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing

                init = np.asarray(self.results.initial_state, dtype=np.float64).ravel()
                model = ExponentialSmoothing(
                    values, trend=True, damped_trend=self.config.damped_trend, seasonal=self.season,
                    initialization_method="known", initial_level=init[0], initial_trend=init[1],
                    initial_seasonal=init[2:],
                )  # fmt: skip
                return model.filter(self.results.params).filter_results
            return self.results.apply(values).filter_results


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """One BLAS thread inside (a context manager, or a decorator: `@one_blas_thread()`). The Kalman filter, like
    the forecasting networks, multiplies small matrices (about 100 wide for a weekly SARIMA) thousands of times:
    BLAS threads only add overhead, and on a loaded 2-core machine their spin-waiting made the CO2 SARIMA fit and
    filter take over 13 minutes instead of one, and 3 epochs of the CO2 forecaster 134 s instead of 9."""
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def fit_statistical(config: StatisticalConfig, train_values: np.ndarray, season: int) -> StatisticalForecaster:
    """Estimate the configured statsmodels model on the training part (needs statsmodels)."""
    if config.model == "none":
        raise ValueError("fit_statistical: the statistical model is 'none'")
    start = time.perf_counter()
    with warnings.catch_warnings(), one_blas_thread():
        warnings.simplefilter("ignore")  # statsmodels' convergence and frequency warnings; the fit is checked below
        if config.model == "sarima":
            from statsmodels.tsa.statespace.sarimax import SARIMAX

            model = SARIMAX(train_values, order=config.order, seasonal_order=(*config.seasonal_order, season))
        else:
            from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing

            model = ExponentialSmoothing(
                train_values, trend=True, damped_trend=config.damped_trend, seasonal=season,
                initialization_method="concentrated",
            )  # fmt: skip
        results = model.fit(disp=False)
    if not np.all(np.isfinite(results.params)):
        raise FloatingPointError(f"fit_statistical: {config.describe(season)} gave non-finite parameters")
    seconds = time.perf_counter() - start
    log.info("%s fitted in %.1f s: %s", config.describe(season), seconds, np.round(results.params, 4))
    return StatisticalForecaster(config, season, results, seconds)
