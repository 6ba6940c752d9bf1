"""The forecast and series_autoencoder tasks on a generated monthly CSV series, through the CLI and the API."""

from __future__ import annotations

import json

import numpy as np
import pytest

from enc2dec import cli, run
from enc2dec.tasks import forecast

CONFIG = "configs/forecast_co2.yaml"
SERIES_AE_CONFIG = "configs/series_autoencoder_co2.yaml"


@pytest.fixture(scope="module")
def series_csv(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 240  # twenty years of months
    t = np.arange(n)
    values = 10 + 0.05 * t + 2 * np.sin(2 * np.pi * t / 12) + 0.2 * rng.standard_normal(n)
    dates = np.datetime64("2000-01") + t.astype("timedelta64[M]")
    path = tmp_path_factory.mktemp("data") / "monthly.csv"
    path.write_text("month,sales\n" + "".join(f"{d}-01,{v:.4f}\n" for d, v in zip(dates, values)), encoding="utf-8")
    return path


def _series(csv) -> list[str]:
    return ["data.dataset=csv", f"data.path={csv}", "data.column=sales", "data.time_column=month", "data.period=12",
            "data.test_stride=2", "model.hidden_size=8", "model.embed_size=4", "training.max_epochs=2"]  # fmt: skip


def _settings(csv, *extra) -> list[str]:
    sets = [*_series(csv), "data.input_length=24", "data.horizon=6", "statistical.model=none", *extra]
    return [a for s in sets for a in ("--set", s)]


@pytest.fixture(scope="module")
def trained(series_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("fc") / "run"
    assert cli.main(["train", CONFIG, "--out", str(out), "--quiet", *_settings(series_csv)]) == 0
    return out


def test_train_keeps_the_best_by_validation_mae(trained):
    for name in ("best/model.safetensors", "best/framing.json", "last/model.safetensors", "loss.png"):
        assert (trained / name).is_file(), name
    records = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in records if "valid_mae" in r]
    assert [r["epoch"] for r in evals] == [1, 2]
    best = min(evals, key=lambda r: r["valid_mae"])
    assert json.loads((trained / "best" / "trainer_state.json").read_text())["step"] == best["step"]
    framing = json.loads((trained / "best" / "framing.json").read_text())
    assert framing["target"] == "mean" and framing["season"] == 12 and framing["scale"] > 0


def test_forecast_cli_and_api_agree(trained, tmp_path, capsys):
    out = tmp_path / "f.csv"
    assert cli.main(["forecast", "--model", str(trained), "--output", str(out), "--png", str(tmp_path / "f.png")]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "step,date,mean" and len(lines) == 7 and lines[1].startswith("240,2020-01-01,")
    assert (tmp_path / "f.png").is_file()
    trained_model = run.load(trained).trained
    p = forecast.predict(trained_model)
    np.testing.assert_allclose([float(line.split(",")[2]) for line in lines[1:]], p.mean, rtol=1e-5)
    assert p.lower is None and p.dates[-1] == np.datetime64("2020-06-01") and len(p.history) == 24
    inside = forecast.predict(trained_model, origin=100)  # a past origin: the truth is known
    np.testing.assert_array_equal(inside.steps, np.arange(100, 106))
    assert len(inside.truth) == 6 and inside.dates[0] == np.datetime64("2008-05-01")


def test_evaluate_rolls_the_origin_over_the_named_split(trained, tmp_path, capsys):
    assert cli.main(["evaluate", "--model", str(trained), "--split", "test", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "scores_test.json").read_text())
    m = report["metrics"]
    for method in ("encdec", "naive", "seasonal_naive"):
        assert m[f"mase_{method}"] == pytest.approx(m[f"mae_{method}"] / m["mase_scale"])
    # 240 months: test part 48, origins every 2nd month with all 6 targets inside it
    assert m["n_origins"] == 22 and len(report["mae_by_step"]["encdec"]) == 6
    assert (tmp_path / "forecast_examples.png").is_file() and (tmp_path / "error_by_step.png").is_file()
    valid = run.evaluate(trained, "valid")["metrics"]
    assert valid["n_origins"] != m["n_origins"] and valid["mase_scale"] != m["mase_scale"]


def test_statsmodels_baseline_and_a_gaussian_head(series_csv, tmp_path):
    sets = _settings(series_csv, "model.head=gaussian", "statistical.model=ets", "model.attention=general")
    cfg = run.load_config(CONFIG, sets[1::2])
    run.train(cfg, tmp_path / "g")
    report = forecast.rolling_origin(run.load(tmp_path / "g").trained, "test")
    assert report.statistical_model == "ETS(A,A,A), m=12" and "mase_statsmodels" in report.metrics
    assert report.std is not None and np.all(report.std > 0)
    p = forecast.predict(run.load(tmp_path / "g").trained)
    assert np.all(p.lower < p.mean) and np.all(p.mean < p.upper)


def test_series_autoencoder_against_pca(series_csv, tmp_path, capsys):
    sets = [*_series(series_csv), "data.window_length=12"]
    out = tmp_path / "seqae"
    assert (
        cli.main(["train", SERIES_AE_CONFIG, "--out", str(out), "--quiet", *[a for s in sets for a in ("--set", s)]])
        == 0
    )
    scores = run.evaluate(out, "test", out_dir=tmp_path / "eval")
    assert scores["test_pca_mse"] > 0 and scores["ratio"] == pytest.approx(scores["test_mse"] / scores["test_pca_mse"])
    assert (tmp_path / "eval" / "contexts.png").is_file()
    trained = run.load(out).trained
    assert trained.model.config.context_size == 2


@pytest.mark.parametrize(
    "extra, message",
    [
        (["model.feature_size=0"], "model.feature_size must be 2 * data.harmonics = 2 (sin and cos per harmonic)"),
        (["data.input_length=300"], "column 'sales': 240 values, fewer than one window (input_length 300 + horizon 6)"),
        (["data.input_length=200"], "the train part (steps 0 to 172) holds no window of input_length 200"),
        (["data.column=sale"], "no column 'sale' (did you mean 'sales'?)"),
        (["data.target=median"], "ForecastDataConfig.target must be one of"),
        (["model.atention=dot"], "model.atention is not a ForecasterConfig field (did you mean attention?)"),
        (["data.window_length=12"], "data.window_length is not a ForecastDataConfig field"),
    ],
)
def test_train_reports_bad_config(series_csv, tmp_path, capsys, extra, message):
    assert cli.main(["train", CONFIG, "--out", str(tmp_path / "r"), "--quiet", *_settings(series_csv, *extra)]) == 2
    err = capsys.readouterr().err
    assert "enc2dec train: error:" in err and message in err, err


def test_use_errors_name_what_was_wrong(trained, tmp_path, capsys):
    with pytest.raises(ValueError, match=r"predict: origin must be in \[24, 240\]"):
        forecast.predict(run.load(trained).trained, origin=10)
    bad = tmp_path / "bad.csv"
    bad.write_text("month,sales\n2000-01-01,1\n2000-02-01,x\n", encoding="utf-8")
    assert cli.main(["forecast", "--model", str(trained), "--csv", str(bad)]) == 2
    assert "bad.csv: column 'sales', row 2 (line 3): 'x' is not a number" in capsys.readouterr().err
