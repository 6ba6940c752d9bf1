"""The forecasting benchmark on the weekly Mauna Loa CO2 series (statsmodels.datasets.co2): one command, one results
file, three pictures.

    python benchmarks/forecast.py [--config configs/forecast_co2.yaml]

1. The encoder-decoder forecaster of the config: trained on the first 72 % of the weeks, its weights chosen on the
   next 8 % (free-running validation MAE), then evaluated by rolling origin over the last 20 %: 52 weeks ahead from
   every test week whose 52 targets lie in the test part.
2. Baselines on the same origins: naive, seasonal naive, the config's statsmodels model (`mase_statsmodels`) and,
   as a second statistical model, ETS(A,A,A) (`mase_ets`), both fitted on the first 80 % and then run through the
   series with their parameters fixed. The 59 missing weeks, filled by linear interpolation, are not scored.
3. The sequence autoencoder (context size 2) on 52-week windows, against PCA with 2 components fitted on the same
   flattened training windows: held-out reconstruction MSE and `seqae_mse_ratio` = autoencoder / PCA.

Writes benchmarks/results/forecast.json (command, date, versions, config, metrics) and forecast_examples.png,
forecast_error_by_step.png, forecast_seqae_contexts.png beside it; checkpoints go to runs/benchmark_forecast.
One process, one BLAS thread (the matrices are small); about 10 minutes on 2 shared cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # tiny matrices: BLAS threads only add overhead (set before numpy loads)
sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_file import RESULTS, write_results  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


class Fitted:
    """A statistical model's test forecasts, computed once, served like a StatisticalForecaster."""

    def __init__(self, model, values, origins, horizon):
        self.name, self.fit_seconds = model.name, model.fit_seconds
        self._forecast = model.forecast(values, origins, horizon)

    def forecast(self, values, origins, horizon):
        return self._forecast


def main(argv: list[str] | None = None) -> int:
    import numpy as np

    from enc2dec import baselines, forecast, plots, series_autoencoder
    from enc2dec import config as config_io

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "forecast_co2.yaml"))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config overrides")
    parser.add_argument("--runs", default=str(ROOT / "runs" / "benchmark_forecast"))
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    cfg = forecast.load_config(args.config, args.set)
    runs = Path(args.runs)
    load_start = os.getloadavg()
    start = time.perf_counter()
    seconds: dict[str, float] = {}

    # 1. the forecaster
    t = time.perf_counter()
    result = forecast.train(cfg, runs / "forecaster", progress=not args.quiet)
    seconds["train_forecaster"] = time.perf_counter() - t
    data = result.data
    values, test, m, h = data.series.values, data.parts["test"], data.season, cfg.data.horizon

    # 2. the statistical models, fitted on everything before the test part
    t = time.perf_counter()
    primary = Fitted(baselines.fit_statistical(cfg.statistical, values[: data.test_start], m), values, test.origins, h)
    ets_config = baselines.StatisticalConfig("ets")
    ets = Fitted(baselines.fit_statistical(ets_config, values[: data.test_start], m), values, test.origins, h)
    seconds["statistical_models"] = time.perf_counter() - t
    report = forecast.evaluate(result.trained, data.series, statistical=primary)
    metrics = dict(report.metrics)
    keep = ~data.series.filled[test.origins[:, None] + np.arange(h)[None, :]]
    for metric, value in baselines.errors(ets._forecast, test.y, metrics["mase_scale"], keep).items():
        metrics[f"{metric}_ets"] = value
    metrics["ets_fit_seconds"] = ets.fit_seconds
    metrics["mase_encdec_over_statsmodels"] = metrics["mase_encdec"] / metrics["mase_statsmodels"]
    metrics["valid_mae_encdec"] = result.valid_mae
    if primary.name != ets.name:
        report.forecasts["ets"] = ets._forecast
        report.by_step["ets"] = baselines.mae_by_step(ets._forecast, test.y, keep)
    pictures = forecast.evaluation_pictures(
        report, RESULTS / "forecast_examples.png", RESULTS / "forecast_error_by_step.png", names={"ets": ets.name}
    )

    # 3. the sequence autoencoder against PCA
    t = time.perf_counter()
    ae = series_autoencoder.train_autoencoder(
        cfg, runs / "seq_autoencoder", series=data.series, progress=not args.quiet
    )
    seconds["train_seq_autoencoder"] = time.perf_counter() - t
    metrics.update(seqae_mse=ae.test_mse, seqae_pca_mse=ae.pca_mse, seqae_mse_ratio=ae.ratio)
    metrics["seqae_n_test_windows"] = int(len(ae.contexts))
    first = data.series.dates[ae.data.starts["test"]]
    week = (first - first.astype("datetime64[Y]")).astype(np.int64) // 7 + 1  # week of the year of the first week
    pictures["seqae_contexts"] = plots.plot_contexts(
        ae.contexts, week, RESULTS / "forecast_seqae_contexts.png", colour_label="week of the year the window starts",
        title=f"sequence autoencoder: 2-D contexts of {len(week)} held-out 52-week windows\n"
        f"reconstruction MSE {ae.ratio:.2f} x PCA's with 2 components", cyclic=True,
    )  # fmt: skip

    seconds["total"] = time.perf_counter() - start
    metrics["seconds_total"] = seconds["total"]
    path = write_results(
        "forecast",
        config_io.to_dict(cfg),
        {k: v if isinstance(v, int) else round(float(v), 5) for k, v in metrics.items()},
        ("statsmodels", "sklearn"),
        statistical_models={"statsmodels": primary.name, "ets": ets.name},
        mae_by_step={k: [round(float(x), 4) for x in v] for k, v in report.by_step.items()},
        seconds={k: round(v, 1) for k, v in seconds.items()},
        machine={
            "cpus": os.cpu_count(),
            "load_average_at_start": [round(v, 2) for v in load_start],
            "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
        },  # fmt: skip
        pictures=[str(p.relative_to(ROOT)) for p in pictures.values()],
        notes="MASE: MAE over the 52 steps of every test origin divided by the in-sample MAE of the seasonal naive "
        "forecast (m = 52) on the first 80 %. Missing weeks (filled by linear interpolation) are not scored. "
        "seqae_mse_ratio: held-out 52-week windows (relative to their own mean, one scale fitted on training "
        "windows), autoencoder reconstruction MSE through a 2-D context over PCA's with 2 components.",
    )
    shown = ("mase_encdec", "mase_statsmodels", "mase_ets", "mase_seasonal_naive", "mase_naive", "seqae_mse_ratio")
    print(json.dumps({k: round(metrics[k], 4) for k in shown}, indent=1))
    print(f"statistical model: {primary.name}; wrote {path} in {seconds['total'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
