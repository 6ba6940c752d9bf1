"""Forecast baselines and errors: hand-computable cases, and the statsmodels models against statsmodels' own forecast."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec import baselines
from enc2dec.baselines import StatisticalConfig


def test_naive_and_seasonal_naive():
    values = np.arange(30.0)
    origins = np.array([10, 20])
    np.testing.assert_array_equal(baselines.naive(values, origins, 3), [[9, 9, 9], [19, 19, 19]])
    # season 4, horizon 6: y[t-4], y[t-3], y[t-2], y[t-1], then the same season again
    np.testing.assert_array_equal(baselines.seasonal_naive(values, origins, 6, 4)[0], [6, 7, 8, 9, 6, 7])
    with pytest.raises(ValueError, match="need 1 <= season <= every origin, got season 12"):
        baselines.seasonal_naive(values, origins, 3, 12)


def test_errors_and_mase_scale():
    train = np.array([1.0, 2.0, 4.0, 3.0, 5.0])
    assert baselines.mase_scale(train, 2) == pytest.approx((3 + 1 + 1) / 3)
    forecast, truth = np.array([[1.0, 2.0], [3.0, 7.0]]), np.array([[2.0, 2.0], [3.0, 4.0]])
    e = baselines.errors(forecast, truth, 2.0)
    assert e == pytest.approx({"mae": 1.0, "rmse": np.sqrt(10 / 4), "mase": 0.5})
    keep = np.array([[True, True], [True, False]])
    assert baselines.errors(forecast, truth, 1.0, keep)["mae"] == pytest.approx(1 / 3)
    np.testing.assert_allclose(baselines.mae_by_step(forecast, truth), [0.5, 1.5])
    np.testing.assert_allclose(baselines.mae_by_step(forecast, truth, keep), [0.5, 0.0])
    with pytest.raises(ValueError, match=r"the training part \(2 values\) must be longer than the season 2"):
        baselines.mase_scale(train[:2], 2)


def _monthly(n: int = 132) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(n)
    return 50 + 0.3 * t + 4 * np.sin(2 * np.pi * t / 12) + np.cumsum(0.3 * rng.standard_normal(n))


@pytest.mark.parametrize(
    "config", [StatisticalConfig("sarima", (0, 1, 1), (0, 1, 1)), StatisticalConfig("ets", damped_trend=True)]
)
def test_statistical_forecasts_match_statsmodels(config):
    """From every origin, the fixed-parameter forecast equals statsmodels' forecast from the model run on y[:t]."""
    values = _monthly()
    fitted = baselines.fit_statistical(config, values[:108], 12)
    origins = np.array([108, 114, 120])
    ours = fitted.forecast(values, origins, 9)
    assert ours.shape == (3, 9) and fitted.fit_seconds > 0
    # at the end of the training part: the fitted results' own forecast
    np.testing.assert_allclose(ours[0], fitted.results.forecast(9), rtol=1e-6)
    if config.model == "sarima":  # later origins: statsmodels' apply (same parameters) on the values before them
        for i, t in enumerate(origins):
            np.testing.assert_allclose(ours[i], fitted.results.apply(values[:t]).forecast(9), rtol=1e-6)
    assert fitted.name == {"sarima": "SARIMA(0,1,1)x(0,1,1,12)", "ets": "ETS(A,Ad,A), m=12"}[config.model]


def test_statistical_config_is_checked():
    with pytest.raises(ValueError, match=r"StatisticalConfig.model must be one of \('sarima', 'ets', 'none'\)"):
        StatisticalConfig("prophet")
    with pytest.raises(ValueError, match="the statistical model is 'none'"):
        baselines.fit_statistical(StatisticalConfig("none"), np.arange(30.0), 4)
