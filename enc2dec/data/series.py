"""Real-valued series: loaders that return a `Series` without gaps, and its dates.

    series = load_co2()                 # weekly Mauna Loa CO2 (statsmodels), gaps interpolated and marked
    series = load_csv("sales.csv", "units", time_column="month", period=12)

statsmodels' CO2 series has missing weeks, which `load_co2` fills by linear interpolation, marking them in
`Series.filled` (evaluations skip them as targets); `load_csv` instead refuses gaps, non-numeric values and series
too short, naming the file, the column and the row. Splits, windows and scaling: enc2dec.data.windows.
"""

from __future__ import annotations

import csv
import difflib
import io
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from enc2dec.data.lines import read_text

log = logging.getLogger(__name__)

CO2_PERIOD = 365.25 / 7  # weeks in a year
SUNSPOT_PERIOD = 11.0  # years in a Schwabe cycle
_MISSING = ("", "na", "nan", "null", "none", "n/a", "-")


@dataclass
class Series:
    """values: (n,) float64 without gaps; name says where it came from (file and column for a CSV); period: the
    seasonal period in steps (None: not seasonal); dates: (n,) datetime64 or None; filled: (n,) bool, True where
    the loader filled a gap (None: nothing filled)."""

    values: np.ndarray
    name: str
    period: float | None = None
    dates: np.ndarray | None = None
    filled: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, dtype=np.float64)
        if self.values.ndim != 1:
            raise ValueError(f"{self.name}: values must have shape (n,), got {self.values.shape}")
        if not np.all(np.isfinite(self.values)):
            raise ValueError(
                f"{self.name}: values must be finite (no gaps), {np.sum(~np.isfinite(self.values))} are not"
            )
        for name in ("dates", "filled"):
            a = getattr(self, name)
            if a is not None and a.shape != self.values.shape:
                raise ValueError(f"{self.name}: {name} must have shape {self.values.shape}, got {a.shape}")

    def __len__(self) -> int:
        return len(self.values)

    @property
    def step_offset(self) -> float:
        """The first value's time in steps since 1970-01-01 (the unit: the mean step between the dates), 0 without
        dates. Added to step numbers for calendar features, it makes two files of one series agree on the phase."""
        if self.dates is None or len(self.dates) < 2:
            return 0.0
        step_days = (self.dates[-1] - self.dates[0]).astype(np.int64) / (len(self.dates) - 1)
        return float((self.dates[0] - np.datetime64("1970-01-01", "D")).astype(np.int64) / step_days)

    @property
    def n_filled(self) -> int:
        return 0 if self.filled is None else int(self.filled.sum())


def check_length(series: Series, needed: int, what: str) -> None:
    """Raise naming the series (file and column) unless it has at least `needed` values."""
    if len(series) < needed:
        raise ValueError(f"{series.name}: {len(series)} values, fewer than {what} ({needed})")


# -- loaders ---------------------------------------------------------------------------------------------------------
def fill_gaps(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """values: (n,) with NaN gaps -> (linearly interpolated values, filled mask); the ends repeat the nearest
    value. Only for regularly spaced series."""
    values = np.asarray(values, dtype=np.float64)
    filled = ~np.isfinite(values)
    if filled.all():
        raise ValueError("fill_gaps: every value is missing")
    steps = np.arange(len(values))
    out = values.copy()
    out[filled] = np.interp(steps[filled], steps[~filled], values[~filled])
    return out, filled


def load_co2() -> Series:
    """Weekly atmospheric CO2 at Mauna Loa, March 1958 to December 2001 (ppm; statsmodels.datasets.co2, needs
    statsmodels): 2,284 weeks, 59 of them missing and filled by linear interpolation (marked in `filled`)."""
    from statsmodels.datasets import co2

    frame = co2.load_pandas().data
    values, filled = fill_gaps(frame["co2"].to_numpy(dtype=np.float64))
    if filled.any():
        log.info("co2: %d of %d weekly values missing, filled by linear interpolation", filled.sum(), len(values))
    dates = frame.index.to_numpy().astype("datetime64[D]")
    return Series(values, "co2 (statsmodels, weekly, ppm)", CO2_PERIOD, dates, filled)


def load_sunspots() -> Series:
    """Yearly mean sunspot numbers 1700-2008 (statsmodels.datasets.sunspots); period: the 11-year cycle."""
    from statsmodels.datasets import sunspots

    frame = sunspots.load_pandas().data
    years = frame["YEAR"].to_numpy().astype(int)
    dates = np.array([f"{y:04d}-01-01" for y in years], dtype="datetime64[D]")
    return Series(
        frame["SUNACTIVITY"].to_numpy(dtype=np.float64), "sunspots (statsmodels, yearly)", SUNSPOT_PERIOD, dates
    )


def load_csv(
    path: str | Path,
    column: str,
    *,
    time_column: str | None = None,
    period: float | None = None,
    min_length: int = 2,
    delimiter: str = ",",
) -> Series:
    """One numeric column of a CSV file with a header row, in file order (oldest first).

    The file is UTF-8 (a byte order mark is dropped; invalid UTF-8 is refused naming the line); blank lines are
    skipped. Refuses, naming the file, the column and the row (data rows count from 1; the line counts the
    header): a row with more or fewer fields than the header, an empty or missing value (a gap: fill or drop it
    first), a non-numeric or infinite value, and fewer than `min_length` values. With `time_column` (ISO dates such as 2001-12-29): dates must increase, and a step more
    than 1.5 times the usual one is a gap.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such CSV file")
    where = f"{path}: column {column!r}"
    values: list[float] = []
    stamps: list[np.datetime64] = []
    text = read_text(path)  # a BOM dropped; invalid UTF-8 named with its line
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, [])
    except csv.Error as e:
        raise ValueError(f"{path}: line {reader.line_num}: not valid CSV ({e})") from None
    for name in (column, time_column):
        if name is not None and name not in header:
            close = difflib.get_close_matches(name, header, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"columns: {', '.join(header) or 'none'}"
            raise ValueError(f"{path}: no column {name!r} ({hint})")
    value_at = header.index(column)
    time_at = header.index(time_column) if time_column is not None else None
    row_number = 0
    while True:
        try:
            fields = next(reader, None)
        except csv.Error as e:
            raise ValueError(f"{path}: line {reader.line_num}: not valid CSV ({e})") from None
        if fields is None:
            break
        if not fields:  # a blank line
            continue
        row_number += 1
        at = f"{where}, row {row_number} (line {reader.line_num})"
        if len(fields) != len(header):
            raise ValueError(
                f"{path}: row {row_number} (line {reader.line_num}): {len(fields)} fields, but the header has "
                f"{len(header)}"
            )
        cell = fields[value_at].strip()
        if cell.lower() in _MISSING:
            raise ValueError(f"{at}: missing value {cell!r}, a gap in the series; fill or drop it first")
        try:
            value = float(cell)
        except ValueError:
            raise ValueError(f"{at}: {cell!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"{at}: {cell!r} is not a finite number")
        values.append(value)
        if time_at is not None:
            stamps.append(_parse_date(f"{path}: column {time_column!r}, row {row_number} (line {reader.line_num})",
                                      fields[time_at]))  # fmt: skip
    dates = np.array(stamps, dtype="datetime64[D]") if time_column is not None else None
    if dates is not None and len(dates) > 1:
        _check_spacing(f"{path}: column {time_column!r}", dates)
    series = Series(np.array(values), where, period, dates)
    check_length(series, min_length, "needed")
    return series


def _parse_date(at: str, cell: str | None) -> np.datetime64:
    cell = (cell or "").strip()
    try:
        return np.datetime64(cell, "D")
    except ValueError:
        raise ValueError(f"{at}: {cell!r} is not a date (ISO 8601, such as 2001-12-29)") from None


def _check_spacing(where: str, dates: np.ndarray) -> None:
    """Dates must increase; a step longer than 1.5 times the median step is a gap (monthly steps of 28 to 31 days
    pass)."""
    steps = np.diff(dates).astype(np.int64)  # days
    usual = float(np.median(steps))
    for i, step in enumerate(steps):
        if step <= 0:
            raise ValueError(f"{where}, row {i + 2} (line {i + 3}): {dates[i + 1]} does not come after {dates[i]}")
        if step > 1.5 * usual:
            raise ValueError(
                f"{where}, row {i + 2} (line {i + 3}): a gap in time, {dates[i]} to {dates[i + 1]} ({step} days; "
                f"the usual step is {usual:g}); fill or drop it first"
            )


def dates_after(dates: np.ndarray, k: int) -> np.ndarray:
    """The k dates after `dates` (n,) datetime64[D], n >= 2: whole months (or years) on when the series steps by
    whole months on one day of the month, else the median step in days."""
    months = dates.astype("datetime64[M]")
    offset = dates - months.astype("datetime64[D]")  # days into the month
    month_steps = np.diff(months).astype(np.int64)
    ahead = np.arange(1, k + 1)
    if np.all(offset == offset[0]) and np.all(month_steps == month_steps[0]) and month_steps[0] > 0:
        return (months[-1] + ahead * month_steps[0]).astype("datetime64[D]") + offset[0]
    return dates[-1] + ahead * int(np.median(np.diff(dates[-100:]).astype(np.int64)))
