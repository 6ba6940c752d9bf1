"""Splits by time, windows, calendar features and the model's numbers, for forecasting and sequence autoencoders.

    valid_start, test_start = split_points(n, test_fraction=0.2, valid_fraction=0.1)
    origins = window_origins(104, 52, start=test_start, stop=n)   # rolling origins over the test part
    x, y = cut_windows(values, origins, 104, 52)                # x: (N, 104) inputs, y: (N, 52) targets
    framing = Framing.fit("mean", 52, x_train, y_train)         # the scale, fitted on training windows only
    src, tgt = framing.encode(x, y)                             # the model's numbers, float32

A forecast *origin* t splits a window: the input is y[t-L : t] (L = input_length), the target y[t : t+h]
(h = horizon). Parts follow each other in time and are never shuffled across: train [0, valid_start), validation
[valid_start, test_start), test [test_start, n). A window belongs to the part that holds its targets; its inputs
may reach back into earlier parts (they are history, known at the origin), except in training, whose windows lie
wholly inside the training part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TARGETS = ("level", "last", "mean", "season", "trend")


def split_points(n: int, test_fraction: float, valid_fraction: float) -> tuple[int, int]:
    """(valid_start, test_start): the last round(test_fraction * n) steps are the test part; the last
    round(valid_fraction * test_start) steps before it, the validation part."""
    for name, value in (("test_fraction", test_fraction), ("valid_fraction", valid_fraction)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"split_points: {name} must be in [0, 1), got {value}")
    test_start = n - round(test_fraction * n)
    return test_start - round(valid_fraction * test_start), test_start


def window_origins(input_length: int, horizon: int, *, start: int, stop: int, stride: int = 1) -> np.ndarray:
    """Origins t with the targets y[t : t+h] inside [start, stop) and a full input y[t-L : t] (t >= L), every
    `stride` steps from the first -> (N,) int64. For windows wholly inside [a, stop), give start = a + L."""
    if input_length < 1 or horizon < 0 or stride < 1:
        raise ValueError(
            f"window_origins: need input_length >= 1, horizon >= 0, stride >= 1, got {input_length}, {horizon}, {stride}"
        )
    return np.arange(max(start, input_length), stop - horizon + 1, stride, dtype=np.int64)


def cut_windows(
    values: np.ndarray, origins: np.ndarray, input_length: int, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """values: (n,), origins: (N,) -> inputs x: (N, L) = values[t-L : t], targets y: (N, h) = values[t : t+h]
    (copies)."""
    origins = np.asarray(origins, dtype=np.int64)
    if origins.size and (origins.min() < input_length or origins.max() + horizon > len(values)):
        raise ValueError(
            f"cut_windows: origins must lie in [{input_length}, {len(values) - horizon}], "
            f"got [{origins.min()}, {origins.max()}]"
        )
    span = np.lib.stride_tricks.sliding_window_view(values, input_length + horizon)  # (n - L - h + 1, L + h)
    rows = span[origins - input_length]  # (N, L + h)
    return rows[:, :input_length].copy(), rows[:, input_length:].copy()


def seasonal_features(steps: np.ndarray, period: float, harmonics: int) -> np.ndarray:
    """steps: (...) times in steps -> (..., 2 * harmonics) float32: sin and cos of 2 pi j s / period for
    j = 1..harmonics. For weekly data, period 365.25 / 7 and times counted from 1970-01-01 (Series.step_offset)
    this is the time of year on a circle; steps past the series' end are as easy as any."""
    if harmonics < 0 or (harmonics and not period > 0):
        raise ValueError(f"seasonal_features: need harmonics >= 0 and period > 0, got {harmonics} and {period}")
    phase = (2.0 * math.pi / period) * np.asarray(steps, dtype=np.float64)[..., None]  # (..., 1)
    j = np.arange(1, harmonics + 1, dtype=np.float64)  # (harmonics,)
    out = np.empty((*phase.shape[:-1], 2 * harmonics), dtype=np.float32)
    out[..., 0::2] = np.sin(phase * j)
    out[..., 1::2] = np.cos(phase * j)
    return out


@dataclass(frozen=True)
class Framing:
    """How a window becomes the model's numbers, and back: values relative to a reference, over one scale.

    target: "level": (y - centre) / scale, the plain standard score; "last": relative to the last input value;
    "mean": relative to the input window's mean; "season": inputs relative to the last input value, targets
    relative to the value one season (m = round(period) steps) earlier, so the model forecasts the change on the
    seasonal-naive forecast; "trend": inputs and targets relative to the window's straight line, through the mean
    of its last season with the slope between its first and last seasons' means, so the model forecasts the
    seasonal pattern and the departures from the line. centre and scale are fitted on training windows only.
    """

    target: str
    season: int
    centre: float
    scale: float

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"Framing: target must be one of {TARGETS}, got {self.target!r}")
        if not self.scale > 0:
            raise ValueError(f"Framing: scale must be positive, got {self.scale}")

    @classmethod
    def fit(cls, target: str, season: int, x: np.ndarray, y: np.ndarray | None = None) -> Framing:
        """x: (N, L), y: (N, h) or None, the training windows -> centre and scale of the training targets (of the
        inputs when y is None: a sequence autoencoder's)."""
        if len(x) == 0:
            raise ValueError("Framing.fit: no training windows")
        if target == "level":
            values = x.ravel() if y is None else np.concatenate([x.ravel(), y.ravel()])
            return cls(target, season, float(values.mean()), float(values.std()) or 1.0)
        src, tgt = cls(target, season, 0.0, 1.0).encode(x, y)
        return cls(target, season, 0.0, float((src if tgt is None else tgt).std()) or 1.0)

    def references(self, x: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
        """x: (N, L) -> what the inputs (N, L) and the targets (N, h) are measured from."""
        N, L = x.shape
        m = self.season
        if self.target in ("season", "trend") and L <= m:
            raise ValueError(f"Framing: target {self.target!r} needs input_length > the season {m}, got {L}")
        if self.target == "trend":
            # level: the mean of the last season (at its centre c); slope: between the first and last seasons'
            # means. A full season's mean cancels the seasonal pattern, which would bias a least-squares slope.
            level = x[:, L - m :].mean(axis=1)  # (N,)
            slope = (level - x[:, :m].mean(axis=1)) / (L - m)
            line = level[:, None] + slope[:, None] * (np.arange(L + horizon) - (L - (m + 1) / 2))[None, :]
            return line[:, :L], line[:, L:]
        if self.target == "level":
            anchor = np.full(N, self.centre)
        else:
            anchor = x.mean(axis=1) if self.target == "mean" else x[:, -1]
        inputs = np.repeat(anchor[:, None], L, axis=1)
        if self.target == "season":
            return inputs, x[:, L - m + np.arange(horizon) % m]  # y[t - m + (k mod m)]
        return inputs, np.repeat(anchor[:, None], horizon, axis=1)

    def encode(self, x: np.ndarray, y: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """x: (N, L), y: (N, h) or None -> src: (N, L), tgt: (N, h) or None, float32."""
        ref_x, ref_y = self.references(x, 0 if y is None else y.shape[1])
        src = ((x - ref_x) / self.scale).astype(np.float32)
        return src, None if y is None else ((y - ref_y) / self.scale).astype(np.float32)

    def decode(self, x: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        """x: (N, L) the inputs, tgt: (N, h) in the model's numbers -> (N, h) in data units, float64."""
        return self.references(x, tgt.shape[1])[1] + self.scale * np.asarray(tgt, dtype=np.float64)

    def to_dict(self) -> dict:
        return {"target": self.target, "season": self.season, "centre": self.centre, "scale": self.scale}


def calendar_features(times: np.ndarray, length: int, horizon: int, period: float, harmonics: int):
    """times: (N,) the origins' times in steps (their step numbers, plus Series.step_offset for a dated series)
    -> seasonal features of the input steps (N, L, F) and of the target steps (N, h, F)."""
    steps = np.asarray(times, dtype=np.float64)[:, None] + np.arange(-length, horizon)[None, :]  # (N, L + h)
    f = seasonal_features(steps, period, harmonics)
    return f[:, :length], f[:, length:]


@dataclass
class Windows:
    """Forecast windows at `origins` (N,): raw inputs x (N, L) and targets y (N, h); the model's numbers src, tgt
    (float32) and calendar features (N, L, F), (N, h, F)."""

    origins: np.ndarray
    x: np.ndarray
    y: np.ndarray
    src: np.ndarray
    tgt: np.ndarray
    src_features: np.ndarray
    tgt_features: np.ndarray

    @classmethod
    def cut(cls, values: np.ndarray, origins: np.ndarray, input_length: int, horizon: int, framing: Framing,
            period: float, harmonics: int, offset: float = 0.0) -> Windows:  # fmt: skip
        """offset: added to the origins for the calendar features (Series.step_offset)."""
        x, y = cut_windows(values, origins, input_length, horizon)
        src, tgt = framing.encode(x, y)
        feats = calendar_features(origins + offset, input_length, horizon, period, harmonics)
        return cls(origins, x, y, src, tgt, *feats)

    def arrays(self) -> tuple[np.ndarray, ...]:
        """(src, tgt, src_features, tgt_features), the forecaster's training batch layout."""
        return self.src, self.tgt, self.src_features, self.tgt_features
