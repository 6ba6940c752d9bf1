"""Splits by time, windows, calendar features and the framing fitted on training windows only."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.data.windows import Framing, Windows, cut_windows, seasonal_features, split_points, window_origins


def test_split_by_time_keeps_parts_apart():
    n, L, h = 200, 12, 5
    valid_start, test_start = split_points(n, 0.2, 0.1)
    assert (valid_start, test_start) == (144, 160)
    train = window_origins(L, h, start=L, stop=valid_start)
    valid = window_origins(L, h, start=valid_start, stop=test_start)
    test = window_origins(L, h, start=test_start, stop=n, stride=1)
    assert train.min() - L == 0 and train.max() + h == valid_start  # wholly inside the training part
    assert valid.min() == valid_start and valid.max() + h == test_start
    assert test.min() == test_start and test.max() + h == n and len(test) == n - test_start - h + 1
    assert len(window_origins(L, h, start=test_start, stop=n, stride=4)) == -(-(n - test_start - h + 1) // 4)
    with pytest.raises(ValueError, match=r"split_points: test_fraction must be in \[0, 1\), got 1.5"):
        split_points(n, 1.5, 0.1)


def test_cut_windows_inputs_then_targets():
    values = np.arange(20.0)
    x, y = cut_windows(values, np.array([4, 10]), 4, 3)
    np.testing.assert_array_equal(x, [[0, 1, 2, 3], [6, 7, 8, 9]])
    np.testing.assert_array_equal(y, [[4, 5, 6], [10, 11, 12]])
    with pytest.raises(ValueError, match=r"origins must lie in \[4, 17\], got \[4, 18\]"):
        cut_windows(values, np.array([4, 18]), 4, 3)


def test_seasonal_features_are_periodic():
    f = seasonal_features(np.arange(30)[None, :], 10.0, 2)
    assert f.shape == (1, 30, 4) and f.dtype == np.float32
    np.testing.assert_allclose(f[0, :10], f[0, 10:20], atol=1e-6)
    np.testing.assert_allclose(f[0, 0], [0, 1, 0, 1], atol=1e-7)
    np.testing.assert_allclose(f[..., 0] ** 2 + f[..., 1] ** 2, 1, rtol=1e-6)
    assert seasonal_features(np.arange(3), 5.0, 0).shape == (3, 0)


@pytest.mark.parametrize("target", ["level", "last", "mean", "season", "trend"])
def test_framing_round_trip_and_fitted_on_training_only(target):
    rng = np.random.default_rng(0)
    values = np.cumsum(rng.standard_normal(300)) + 5 * np.sin(np.arange(300) * 2 * np.pi / 12)
    origins = window_origins(24, 6, start=24, stop=300)
    x, y = cut_windows(values, origins, 24, 6)
    framing = Framing.fit(target, 12, x[:100], y[:100])
    src, tgt = framing.encode(x, y)
    assert src.dtype == tgt.dtype == np.float32 and src.shape == (len(x), 24) and tgt.shape == (len(x), 6)
    np.testing.assert_allclose(framing.decode(x, tgt), y, atol=1e-4 * framing.scale)
    assert abs(float(tgt[:100].std()) - 1) < 1e-3 or target == "level"
    x2, y2 = x.copy(), y.copy()
    x2[100:] += 1000.0  # later windows do not move the fit
    y2[100:] += 1000.0
    assert Framing.fit(target, 12, x2[:100], y2[:100]) == framing
    assert Framing(**framing.to_dict()) == framing


def test_framing_season_is_relative_to_seasonal_naive():
    values = np.arange(40.0) % 4 * 10 + np.arange(40.0)  # season 4 plus a trend of 1 per step
    x, y = cut_windows(values, np.array([8, 20]), 8, 6)
    framing = Framing.fit("season", 4, x, y)
    baseline = framing.references(x, 6)[1]
    np.testing.assert_array_equal(baseline[0], values[[4, 5, 6, 7, 4, 5]])  # y[t - m + (k mod m)]
    _, tgt = framing.encode(x, y)
    np.testing.assert_allclose(tgt * framing.scale, [[4, 4, 4, 4, 8, 8]] * 2, rtol=1e-6)  # m or 2m * the trend
    with pytest.raises(ValueError, match="target 'season' needs input_length > the season 4, got 4"):
        Framing.fit("season", 4, x[:, :4], y)
    with pytest.raises(ValueError, match="Framing: target must be one of"):
        Framing("median", 4, 0.0, 1.0)


def test_windows_cut_features_follow_the_origins():
    values = np.arange(50.0)
    framing = Framing("level", 4, 10.0, 2.0)
    w = Windows.cut(values, np.array([8, 20]), 8, 3, framing, 4.0, 1)
    assert w.src.shape == (2, 8) and w.tgt.shape == (2, 3) and w.src_features.shape == (2, 8, 2)
    np.testing.assert_allclose(w.tgt[0], (values[8:11] - 10.0) / 2.0)
    np.testing.assert_allclose(w.tgt_features[0], seasonal_features(np.arange(8, 11), 4.0, 1), atol=1e-6)
    np.testing.assert_allclose(w.src_features[1], seasonal_features(np.arange(12, 20), 4.0, 1), atol=1e-6)


def test_framing_trend_removes_a_line_and_a_whole_season():
    steps = np.arange(60.0)
    values = 3.0 + 0.5 * steps + 2.0 * np.sin(2 * np.pi * steps / 6)  # season 6
    x, y = cut_windows(values, np.array([18, 42]), 18, 4)  # the same phase
    framing = Framing("trend", 6, 0.0, 1.0)
    ref_x, ref_y = framing.references(x, 4)
    np.testing.assert_allclose(np.diff(ref_x, axis=1), 0.5, rtol=1e-9)  # the slope, untouched by the season
    np.testing.assert_allclose(x - ref_x, np.tile(2.0 * np.sin(2 * np.pi * steps[:18] / 6), (2, 1)), atol=1e-9)
    np.testing.assert_allclose(y - ref_y, np.tile(2.0 * np.sin(2 * np.pi * steps[18:22] / 6), (2, 1)), atol=1e-9)
