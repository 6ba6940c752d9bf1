"""`enc2dec forecast train | predict | evaluate` and the Python API behind it, on a generated monthly CSV series
(no download, no statsmodels needed: the statistical baseline is switched off unless statsmodels is installed)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from enc2dec import cli
from enc2dec import forecast as api

CONFIG = "configs/forecast_co2.yaml"


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


def _settings(csv, *extra) -> list[str]:
    sets = ["data.dataset=csv", f"data.path={csv}", "data.column=sales", "data.time_column=month", "data.period=12",
            "data.input_length=24", "data.horizon=6", "data.test_stride=2", "model.hidden_size=8",
            "model.embed_size=4", "training.max_epochs=2", "statistical.model=none", *extra]  # fmt: skip
    return [a for s in sets for a in ("--set", s)]


@pytest.fixture(scope="module")
def trained(series_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("fc")
    assert (
        cli.main(["forecast", "train", "--config", CONFIG, "--out", str(out), "--quiet", *_settings(series_csv)]) == 0
    )
    return out


def test_train_writes_checkpoints_with_the_framing(trained, capsys):
    for name in ("best/model.safetensors", "best/framing.json", "best/config.yaml", "last/model.safetensors",
                 "loss.png", "metrics.jsonl"):  # fmt: skip
        assert (trained / name).is_file(), name
    records = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records if "valid_mae" in r] == [1, 2]
    framing = json.loads((trained / "best" / "framing.json").read_text())
    assert framing["target"] == "mean" and framing["season"] == 12 and framing["scale"] > 0


def test_predict_cli_and_api_agree(trained, tmp_path, capsys):
    out = tmp_path / "f.csv"
    assert (
        cli.main(
            ["forecast", "predict", "--model", str(trained), "--output", str(out), "--png", str(tmp_path / "f.png")]
        )
        == 0
    )
    lines = out.read_text().splitlines()
    assert lines[0] == "step,date,mean" and len(lines) == 7 and lines[1].startswith("240,2020-01-01,")
    assert (tmp_path / "f.png").is_file()
    p = api.predict(trained)
    np.testing.assert_allclose([float(line.split(",")[2]) for line in lines[1:]], p.mean, rtol=1e-5)
    assert p.lower is None and p.dates[-1] == np.datetime64("2020-06-01") and len(p.history) == 24
    inside = api.predict(api.load(trained), origin=100)  # a past origin: the truth is known
    np.testing.assert_array_equal(inside.steps, np.arange(100, 106))
    assert len(inside.truth) == 6 and inside.dates[0] == np.datetime64("2008-05-01")


def test_evaluate_reports_every_method(trained, tmp_path, capsys):
    assert cli.main(["forecast", "evaluate", "--model", str(trained), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "encoder-decoder" in printed and "seasonal naive" in printed
    report = json.loads((tmp_path / "evaluation.json").read_text())
    m = report["metrics"]
    for method in ("encdec", "naive", "seasonal_naive"):
        assert m[f"mase_{method}"] == pytest.approx(m[f"mae_{method}"] / m["mase_scale"])
    # 240 months: test part 48, origins every 2nd month with all 6 targets inside it
    assert m["n_origins"] == 22 and len(report["mae_by_step"]["encdec"]) == 6
    assert (tmp_path / "forecast_examples.png").is_file() and (tmp_path / "error_by_step.png").is_file()


def test_evaluate_with_statsmodels_and_a_gaussian_head(series_csv, tmp_path):
    pytest.importorskip("statsmodels")
    cfg = api.load_config(CONFIG, [s for s in _settings(series_csv, "model.head=gaussian", "statistical.model=ets",
                                                        "model.attention=general") if s != "--set"])  # fmt: skip
    result = api.train(cfg, tmp_path)
    report = api.evaluate(tmp_path)
    assert report.statistical_model == "ETS(A,A,A), m=12" and "mase_statsmodels" in report.metrics
    assert report.std is not None and np.all(report.std > 0)
    p = api.predict(result.trained)
    assert np.all(p.lower < p.mean) and np.all(p.mean < p.upper)


def test_seq_autoencoder_api(series_csv):
    cfg = api.load_config(CONFIG, [s for s in _settings(series_csv, "autoencoder.window_length=12",
                                                        "autoencoder.training.max_epochs=2",
                                                        "autoencoder.model.hidden_size=8") if s != "--set"])  # fmt: skip
    from enc2dec import series_autoencoder

    result = series_autoencoder.train_autoencoder(cfg)
    assert result.contexts.shape == (len(result.data.src["test"]), 2) and result.pca_mse > 0
    assert result.ratio == pytest.approx(result.test_mse / result.pca_mse)
    starts = result.data.starts["test"]
    np.testing.assert_allclose(series_autoencoder.encode(result.model, result.data, result.data.x["test"], starts),
                               result.contexts, rtol=1e-5)  # fmt: skip


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            ["model.feature_size=0"],
            "model.feature_size must be 2 * data.harmonics = 2 (sin and cos per harmonic), got 0",
        ),
        (["data.input_length=300"], "column 'sales': 240 values, fewer than one window (input_length 300 + horizon 6)"),
        (["data.input_length=200"], "the train part (steps 0 to 172) holds no window of input_length 200"),
        (["data.column=sale"], "no column 'sale' (did you mean 'sales'?)"),
        (["data.target=median"], "DataConfig.target must be one of"),
        (["model.atention=dot"], "model.atention is not a ForecasterConfig field (did you mean attention?)"),
    ],
)
def test_train_reports_bad_config(series_csv, tmp_path, capsys, extra, message):
    args = ["forecast", "train", "--config", CONFIG, "--out", str(tmp_path), "--quiet", *_settings(series_csv, *extra)]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "enc2dec forecast: error:" in err and message in err, err


def test_use_errors_name_what_was_wrong(trained, tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="not a forecast checkpoint"):
        api.load(tmp_path)
    with pytest.raises(ValueError, match=r"predict: origin must be in \[24, 240\]"):
        api.predict(trained, origin=10)
    bad = tmp_path / "bad.csv"
    bad.write_text("month,sales\n2000-01-01,1\n2000-02-01,x\n", encoding="utf-8")
    assert cli.main(["forecast", "predict", "--model", str(trained), "--csv", str(bad)]) == 2
    assert "bad.csv: column 'sales', row 2 (line 3): 'x' is not a number" in capsys.readouterr().err
