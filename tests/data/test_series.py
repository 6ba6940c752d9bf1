"""Real-valued series: loaders, CSV errors that name file, column and row, gaps filled and marked, dates."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.data.series import Series, check_length, dates_after, fill_gaps, load_csv


def _write(tmp_path, text: str, name: str = "s.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_csv_reads_one_column_with_dates(tmp_path):
    path = _write(tmp_path, "date,co2,other\n2001-01-06,370.5,x\n2001-01-13,371,y\n2001-01-20,371.25,z\n")
    s = load_csv(path, "co2", time_column="date", period=52.18)
    np.testing.assert_array_equal(s.values, [370.5, 371.0, 371.25])
    assert s.values.dtype == np.float64 and s.period == 52.18 and s.n_filled == 0
    assert s.dates[-1] == np.datetime64("2001-01-20") and "s.csv" in s.name and "'co2'" in s.name


@pytest.mark.parametrize(
    "text, message",
    [
        ("t,y\n1,2.0\n2,\n3,4\n", r"s.csv: column 'y', row 2 \(line 3\): missing value '', a gap in the series"),
        ("t,y\n1,2.0\n2,NA\n3,4\n", r"s.csv: column 'y', row 2 \(line 3\): missing value 'NA', a gap"),
        ("t,y\n1,2.0\n2,3\n3,abc\n", r"s.csv: column 'y', row 3 \(line 4\): 'abc' is not a number"),
        ("t,y\n1,inf\n", r"s.csv: column 'y', row 1 \(line 2\): 'inf' is not a finite number"),
        ("t,value\n1,2\n", r"s.csv: no column 'y' \(columns: t, value\)"),
        ("t,yy\n1,2\n", r"s.csv: no column 'y' \(did you mean 'yy'\?\)"),
        ("t,y\n1,2\n", r"s.csv: column 'y': 1 values, fewer than needed \(2\)"),
        ("", r"s.csv: no column 'y' \(columns: none\)"),
    ],
)
def test_load_csv_errors_name_file_column_and_row(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        load_csv(_write(tmp_path, text), "y")


@pytest.mark.parametrize(
    "dates, message",
    [
        (["2001-01-06", "2001-01-13", "2001-01-20", "2001-02-03"], r"column 'd', row 4 \(line 5\): a gap in time, "
                                                                   r"2001-01-20 to 2001-02-03 \(14 days; the usual step is 7\)"),
        (["2001-01-06", "2001-01-06", "2001-01-13"], r"column 'd', row 2 \(line 3\): 2001-01-06 does not come after"),
        (["2001-01-06", "6 Jan", "2001-01-13"], r"column 'd', row 2 \(line 3\): '6 Jan' is not a date"),
    ],
)  # fmt: skip
def test_load_csv_checks_the_time_column(tmp_path, dates, message):
    text = "d,y\n" + "".join(f"{d},{i}\n" for i, d in enumerate(dates))
    with pytest.raises(ValueError, match=message):
        load_csv(_write(tmp_path, text), "y", time_column="d")


def test_load_csv_monthly_dates_pass_and_missing_file_is_clear(tmp_path):
    text = "d,y\n" + "".join(f"2001-{m:02d}-01,{m}\n" for m in range(1, 13))
    assert len(load_csv(_write(tmp_path, text), "y", time_column="d", min_length=12)) == 12
    with pytest.raises(FileNotFoundError, match="nope.csv: no such CSV file"):
        load_csv(tmp_path / "nope.csv", "y")


def test_check_length_names_the_series():
    with pytest.raises(ValueError, match=r"a.csv: column 'y': 5 values, fewer than one window \(L 4 \+ h 3\) \(7\)"):
        check_length(Series(np.arange(5.0), "a.csv: column 'y'"), 7, "one window (L 4 + h 3)")
    with pytest.raises(ValueError, match="values must be finite"):
        Series(np.array([1.0, np.nan]), "x")


def test_fill_gaps_interpolates_and_marks():
    values, filled = fill_gaps(np.array([np.nan, 1.0, np.nan, np.nan, 4.0, np.nan]))
    np.testing.assert_allclose(values, [1, 1, 2, 3, 4, 4])
    np.testing.assert_array_equal(filled, [True, False, True, True, False, True])


def test_statsmodels_loaders():
    from enc2dec.data.series import CO2_PERIOD, load_co2, load_sunspots

    co2 = load_co2()  # shipped inside statsmodels: no network
    assert len(co2) == 2284 and co2.n_filled == 59 and co2.period == CO2_PERIOD
    assert np.all(np.isfinite(co2.values)) and co2.dates[0] == np.datetime64("1958-03-29")
    spots = load_sunspots()
    assert len(spots) == 309 and spots.n_filled == 0 and spots.dates[0] == np.datetime64("1700-01-01")


def test_dates_after_steps_by_months_or_days():
    monthly = np.array(["2001-11-15", "2001-12-15", "2002-01-15"], dtype="datetime64[D]")
    weekly = np.array(["2001-12-15", "2001-12-22", "2001-12-29"], dtype="datetime64[D]")
    yearly = np.array(["1999-01-01", "2000-01-01"], dtype="datetime64[D]")
    np.testing.assert_array_equal(dates_after(weekly, 2), np.array(["2002-01-05", "2002-01-12"], dtype="datetime64[D]"))
    np.testing.assert_array_equal(dates_after(yearly, 1), np.array(["2001-01-01"], dtype="datetime64[D]"))
    assert dates_after(monthly, 2)[-1] == np.datetime64("2002-03-15")  # whole months, not 30 or 31 days


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"t,y\n1,2\n2,3,4\n", r"s\.csv: row 2 \(line 3\): 3 fields, but the header has 2"),
        (b"t,y\n1,2\n2\n", r"s\.csv: row 2 \(line 3\): 1 fields, but the header has 2"),
        (b"t,y\n1,2\n2,\xff\n", r"s\.csv: line 3: invalid UTF-8"),
        (b't,y\n1,"2\n', r"s\.csv: line \d: not valid CSV \(unexpected end of data\)"),
    ],
)
def test_load_csv_refuses_misshaped_rows_and_bad_bytes(tmp_path, data, message):
    path = tmp_path / "s.csv"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message):
        load_csv(path, "y")


def test_load_csv_accepts_a_bom_crlf_and_blank_lines(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(b"\xef\xbb\xbfy,t\r\n1.5,a\r\n\r\n2.5,b\r\n")
    s = load_csv(path, "y")
    np.testing.assert_array_equal(s.values, [1.5, 2.5])
