"""The forecasting benchmark on the weekly Mauna Loa CO2 series (statsmodels.datasets.co2): one command, one results
file, three pictures.

    python benchmarks/forecast.py
    python benchmarks/forecast.py --smoke --results-dir /tmp/results

1. The encoder-decoder forecaster of configs/forecast_co2.yaml (--set overrides it): trained on the first 72 % of
   the weeks, its weights chosen on the next 8 % (free-running validation MAE).
2. The sequence autoencoder of configs/series_autoencoder_co2.yaml (--set-autoencoder overrides it; context size
   2) on 52-week windows, its weights chosen on the validation windows.
3. Every choice made, the test split, once (run.evaluate): the forecaster by rolling origin over the last 20 %, 52
   weeks ahead from every test week whose 52 targets lie in the test part, against naive, seasonal naive and the
   config's statsmodels model (`mase_statsmodels`), fitted on the first 80 % and then run through the series with
   its parameters fixed; from the same final step ETS(A,A,A) as a second statistical model (`mase_ets`). The 59
   missing weeks, filled by linear interpolation, are not scored. The sequence autoencoder's reconstruction MSE
   on the test windows against PCA with 2 components fitted on the training windows (`seqae_mse_ratio`).

Writes forecast.json, forecast_examples.png, forecast_error_by_step.png and forecast_seqae_contexts.png into
--results-dir; runs go to --runs. One BLAS thread in training and evaluation (the matrices are small).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from results_file import write_results  # noqa: E402

FORECAST_CONFIG = "configs/forecast_co2.yaml"
AUTOENCODER_CONFIG = "configs/series_autoencoder_co2.yaml"
SMOKE = ["statistical.model=none"]  # the SARIMA fit alone takes minutes; ETS is still fitted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set-autoencoder", action="append", default=[], metavar="KEY=VALUE",
                        help="override of the sequence autoencoder's config")  # fmt: skip
    common.add_arguments(parser, runs="runs/benchmark_forecast", data_dir=False)
    args = parser.parse_args(argv)
    runs, out = Path(args.runs), Path(args.results_dir)

    import numpy as np

    from enc2dec import baselines, run
    from enc2dec import config as config_io
    from enc2dec.tasks.forecast import prepare

    cfg = run.load_config(common.ROOT / FORECAST_CONFIG, common.overrides(args, SMOKE))
    ae_sets = [*common.SMOKE_SET, *args.set_autoencoder] if args.smoke else args.set_autoencoder
    ae_cfg = run.load_config(common.ROOT / AUTOENCODER_CONFIG, ae_sets)
    start = time.perf_counter()
    seconds: dict[str, float] = {}
    progress = not args.quiet

    # 1-2. training, weights chosen on the validation part
    t = time.perf_counter()
    forecaster = run.train(cfg, runs / "forecaster", overwrite=True, progress=progress)
    seconds["train_forecaster"] = time.perf_counter() - t
    t = time.perf_counter()
    autoencoder = run.train(ae_cfg, runs / "seq_autoencoder", overwrite=True, progress=progress)
    seconds["train_seq_autoencoder"] = time.perf_counter() - t
    metrics = {"valid_mae_encdec": forecaster.best["valid_mae"], "seqae_valid_mse": autoencoder.best["valid_mse"]}

    # 3. every choice is made: the test split, once
    t = time.perf_counter()
    report = run.evaluate(runs / "forecaster", "test", out_dir=runs / "forecaster" / "test")
    metrics.update(report["metrics"])
    data = prepare(cfg.data)
    values, test, h = data.series.values, data.parts["test"], cfg.data.horizon
    with baselines.one_blas_thread():
        ets = baselines.fit_statistical(baselines.StatisticalConfig("ets"), values[: data.test_start], data.season)
        ets_forecast = ets.forecast(values, test.origins, h)
    keep = ~data.series.filled[test.origins[:, None] + np.arange(h)[None, :]]
    for metric, value in baselines.errors(ets_forecast, test.y, metrics["mase_scale"], keep).items():
        metrics[f"{metric}_ets"] = value
    metrics["ets_fit_seconds"] = ets.fit_seconds
    if "mase_statsmodels" in metrics:
        metrics["mase_encdec_over_statsmodels"] = metrics["mase_encdec"] / metrics["mase_statsmodels"]
    by_step = {**report["mae_by_step"], "ets": baselines.mae_by_step(ets_forecast, test.y, keep).tolist()}
    seqae = run.evaluate(runs / "seq_autoencoder", "test", out_dir=runs / "seq_autoencoder" / "test")
    metrics.update(seqae_mse=seqae["test_mse"], seqae_pca_mse=seqae["test_pca_mse"], seqae_mse_ratio=seqae["ratio"],
                   seqae_n_test_windows=seqae["n_windows"])  # fmt: skip
    seconds["test"] = time.perf_counter() - t
    pictures = {"forecast_examples.png": runs / "forecaster" / "test" / "forecast_examples.png",
                "forecast_error_by_step.png": runs / "forecaster" / "test" / "error_by_step.png",
                "forecast_seqae_contexts.png": runs / "seq_autoencoder" / "test" / "contexts.png"}  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    for name, source in pictures.items():
        shutil.copyfile(source, out / name)

    seconds["total"] = time.perf_counter() - start
    metrics["seconds_total"] = seconds["total"]
    path = write_results(
        "forecast",
        {"forecaster": config_io.to_dict(cfg), "sequence_autoencoder": config_io.to_dict(ae_cfg)},
        {k: v if isinstance(v, int) else round(float(v), 5) for k, v in metrics.items()},
        ("statsmodels", "sklearn"),
        out,
        note=args.note,
        threads=1,
        statistical_models={"statsmodels": report["statistical_model"], "ets": ets.name},
        mae_by_step={k: [round(float(x), 4) for x in v] for k, v in by_step.items()},
        seconds={k: round(v, 1) for k, v in seconds.items()},
        pictures=[common.relative(out / name) for name in pictures],
        smoke=args.smoke,
    )
    shown = ("mase_encdec", "mase_statsmodels", "mase_ets", "mase_seasonal_naive", "mase_naive", "seqae_mse_ratio")
    print(json.dumps({k: round(metrics[k], 4) for k in shown if k in metrics}, indent=1))
    print(f"statistical models: {report['statistical_model']}, {ets.name}; wrote {path} in "
          f"{seconds['total'] / 60:.1f} min")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
