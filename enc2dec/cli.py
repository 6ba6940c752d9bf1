"""The `enc2dec` command: argparse verbs that call the Python API. Only this module prints."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

Handler = Callable[[argparse.Namespace], int]


def _quickstart(args: argparse.Namespace) -> int:
    from enc2dec.quickstart import run_digits

    print("Dense encoder-decoder on scikit-learn's 8x8 digits: 64 -> 256 -> 128 -> 2 -> 128 -> 256 -> 64")
    result = run_digits(args.out, seed=args.seed, epochs=args.epochs, progress=not args.quiet)
    print(f"trained in {result.train_seconds:.1f} s")
    print(
        f"held-out reconstruction MSE, 2-D context: encoder-decoder {result.test_mse:.4f}, PCA {result.pca_test_mse:.4f}"
    )
    print(f"2-D codes by digit: {result.codes_png}")
    print(f"loss curve:         {result.loss_png}")
    if args.skip_dates:
        return 0
    from enc2dec.quickstart import run_dates

    print("\nSequence to sequence (LSTM encoder -> context -> LSTM decoder): dates in many formats -> ISO 8601")
    dates = run_dates(Path(args.out) / "dates", seed=args.seed, progress=not args.quiet)
    print(f"trained in {dates.train_seconds:.1f} s; held-out dates rewritten exactly: {100 * dates.exact_match:.1f} %")
    for text, iso in dates.examples:
        print(f"  {text:>16}  ->  {iso}")
    print(f"model: {dates.out_dir}/best  (try: enc2dec translate --model {dates.out_dir})")
    return 0


# -- enc2dec autoencoder train | encode | decode | sample | sweep ----------------------------------------------
def _ae_config(args: argparse.Namespace):
    from dataclasses import replace

    from enc2dec.autoencoder import load_config

    cfg = load_config(args.config, args.set)
    if args.data_dir is not None:
        cfg = replace(cfg, data=replace(cfg.data, data_dir=args.data_dir))
    return cfg


def _ae_train(args: argparse.Namespace) -> int:
    from enc2dec.autoencoder import train

    result = train(_ae_config(args), args.out, progress=not args.quiet)
    print(f"held-out reconstruction MSE: {result.test_mse:.5f}")
    print(f"checkpoint: {result.checkpoint_dir}")
    for name, path in result.pictures.items():
        print(f"{name}: {path}")
    return 0


def _load_rows(path: str):
    import numpy as np

    if not path.endswith(".npy"):
        raise ValueError(f"--input must be a .npy file of shape (N, features), got {path!r}")
    return np.load(path, allow_pickle=False)


def _save_rows(path: str, array) -> None:
    import numpy as np

    if not path.endswith(".npy"):
        raise ValueError(f"--output must name a .npy file, got {path!r}")
    np.save(path, array, allow_pickle=False)
    print(f"wrote {path}: shape {array.shape}")


def _ae_encode(args: argparse.Namespace) -> int:
    from enc2dec.autoencoder import encode

    _save_rows(args.output, encode(args.checkpoint, _load_rows(args.input)))
    return 0


def _ae_decode(args: argparse.Namespace) -> int:
    from enc2dec.autoencoder import decode

    images = decode(args.checkpoint, _load_rows(args.input))
    _save_rows(args.output, images)
    if args.png:
        from enc2dec.plots import plot_image_grid

        print(f"picture: {plot_image_grid(images[:64], args.png)}")
    return 0


def _ae_sample(args: argparse.Namespace) -> int:
    from enc2dec.autoencoder import sample

    images = sample(args.checkpoint, args.n, seed=args.seed)
    if args.output.endswith(".png"):
        from enc2dec.plots import plot_image_grid

        print(f"picture: {plot_image_grid(images, args.output, title='VAE samples')}")
    else:
        _save_rows(args.output, images)
    return 0


def _ae_sweep(args: argparse.Namespace) -> int:
    from enc2dec.autoencoder import sweep

    rows = sweep(_ae_config(args), args.sizes, args.out, progress=not args.quiet)["rows"]
    print(f"{'size':>5} {'autoencoder':>12} {'PCA':>10} {'ratio':>7}")
    for r in rows:
        print(f"{r['context_size']:>5} {r['ae_mse']:>12.5f} {r['pca_mse']:>10.5f} {r['ratio']:>7.3f}")
    print(f"table: {args.out}/sweep.json, plot: {args.out}/sweep.png")
    return 0


def _add_autoencoder(verbs) -> None:
    ae = verbs.add_parser("autoencoder", help="the autoencoder family: train, encode, decode, sample, sweep")
    sub = ae.add_subparsers(dest="ae_verb", required=True, metavar="ACTION")

    def configured(name: str, help: str, handler: Handler, out: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help)
        p.add_argument("--config", required=True, help="YAML file (configs/autoencoder_mnist.yaml)")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override, e.g. model.beta=2")
        p.add_argument("--data-dir", default=None, help="data folder (else $ENC2DEC_DATA or ~/.cache/enc2dec)")
        p.add_argument("--out", default=out, help="output folder")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.set_defaults(handler=handler)
        return p

    configured("train", "train the configured model; checkpoint and pictures in --out", _ae_train, "runs/autoencoder")
    p = configured("sweep", "held-out error of the autoencoder and PCA per context size", _ae_sweep, "runs/ae_sweep")
    p.add_argument("--sizes", type=int, nargs="+", default=[2, 4, 8, 16, 32, 64])
    for name, help, handler in (
        ("encode", "rows (.npy, (N, features)) -> codes (.npy)", _ae_encode),
        ("decode", "codes (.npy, (N, C)) -> rows in data space (.npy)", _ae_decode),
    ):
        p = sub.add_parser(name, help=help)
        p.add_argument("--checkpoint", required=True, help="a run folder or checkpoint directory")
        p.add_argument("--input", required=True)
        p.add_argument("--output", required=True)
        p.set_defaults(handler=handler)
        if name == "decode":
            p.add_argument("--png", default=None, help="also draw the first 64 rows as images")
    p = sub.add_parser("sample", help="draw from a VAE's prior; --output .png (a picture) or .npy")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", required=True)
    p.set_defaults(handler=_ae_sample)


# -- enc2dec forecast train | predict | evaluate ------------------------------------------------------------------
def _fc_train(args: argparse.Namespace) -> int:
    from enc2dec import forecast

    result = forecast.train(forecast.load_config(args.config, args.set), args.out, progress=not args.quiet)
    print(f"best validation MAE (free-running forecasts, {result.data.series.name}): {result.valid_mae:.4f}")
    print(f"checkpoints: {args.out}/best and {args.out}/last; loss curve: {args.out}/loss.png")
    print(f"next: enc2dec forecast evaluate --model {args.out}")
    return 0


def _fc_predict(args: argparse.Namespace) -> int:
    from enc2dec import forecast

    p = forecast.predict(args.model, origin=args.origin, csv=args.csv)
    band = p.lower is not None
    header = "step,date,mean" + (",lower95,upper95" if band else "")
    rows = [header]
    for i, step in enumerate(p.steps):
        date = "" if p.dates is None else str(p.dates[i])
        extra = f",{p.lower[i]:.6g},{p.upper[i]:.6g}" if band else ""
        rows.append(f"{step},{date},{p.mean[i]:.6g}{extra}")
    if args.output:
        Path(args.output).write_text("\n".join(rows) + "\n", encoding="utf-8")
        print(f"wrote {args.output}: {len(p.steps)} steps from origin {p.origin}")
    else:
        print("\n".join(rows))
    if args.png:
        print(f"picture: {forecast.plot_prediction(p, args.png)}")
    return 0


def _fc_evaluate(args: argparse.Namespace) -> int:
    from enc2dec import forecast

    result = forecast.evaluate(args.model, csv=args.csv, out_dir=args.out)
    m = result.metrics
    print(f"rolling origin over the test part: {m['n_origins']} origins, horizon {result.data.config.horizon}")
    names = {"encdec": "encoder-decoder", "naive": "naive", "seasonal_naive": "seasonal naive",
             "statsmodels": result.statistical_model}  # fmt: skip
    print(f"{'method':<32} {'MAE':>9} {'RMSE':>9} {'MASE':>7}")
    for key, name in names.items():
        if f"mae_{key}" in m:
            print(f"{name:<32} {m['mae_' + key]:>9.4f} {m['rmse_' + key]:>9.4f} {m['mase_' + key]:>7.3f}")
    if args.out:
        print(f"table: {args.out}/evaluation.json; pictures: {', '.join(str(p) for p in result.pictures.values())}")
    return 0


def _add_forecast(verbs) -> None:
    fc = verbs.add_parser("forecast", help="multi-step forecasting of a real-valued series: train, predict, evaluate")
    sub = fc.add_subparsers(dest="fc_verb", required=True, metavar="ACTION")
    p = sub.add_parser("train", help="train the configured forecaster; checkpoints in --out")
    p.add_argument("--config", required=True, help="YAML file (configs/forecast_co2.yaml)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override, e.g. data.horizon=26")
    p.add_argument("--out", default="runs/forecast", help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_fc_train)
    for name, help, handler in (
        ("predict", "forecast the horizon after the series' end (or --origin) as CSV", _fc_predict),
        ("evaluate", "rolling-origin test errors against naive, seasonal naive and statsmodels", _fc_evaluate),
    ):
        p = sub.add_parser(name, help=help)
        p.add_argument("--model", required=True, help="a run folder or checkpoint directory")
        p.add_argument("--csv", default=None, help="another CSV file with the configured columns (data.dataset csv)")
        p.set_defaults(handler=handler)
    p.add_argument("--out", default=None, help="folder for evaluation.json and the pictures")
    p = sub.choices["predict"]
    p.add_argument("--origin", type=int, default=None, help="forecast from this step (default: the series' end)")
    p.add_argument("--output", default=None, help="CSV file to write (default: stdout)")
    p.add_argument("--png", default=None, help="also draw the forecast after its input window")


def _train(args: argparse.Namespace) -> int:
    from enc2dec import translation

    overrides = [*args.set, f"data.data_dir={args.data_dir}"] if args.data_dir else args.set
    cfg = translation.load_config(args.config, overrides)
    result = translation.train(cfg, args.out, resume=args.resume, progress=not args.quiet)
    t = result.test
    print(f"trained {result.train_minutes:.1f} min; checkpoints in {result.out_dir}/best and {result.out_dir}/last")
    print(f"test: BLEU {t['test_bleu']:.2f} (lowercased {t['test_bleu_lc']:.2f}), chrF {t['test_chrf']:.2f}, "
          f"perplexity {t['test_ppl']:.2f}")  # fmt: skip
    print(f"BLEU signature: {result.bleu_signature}")
    return 0


def _decode_options(args: argparse.Namespace) -> dict:
    options = {"method": args.method}
    if args.method == "beam":
        options.update(beam_size=args.beam_size, n_best=args.n_best)
        if args.length_penalty is not None:
            options["length_penalty"] = args.length_penalty
    return options


def _translate(args: argparse.Namespace) -> int:
    from enc2dec import translation

    translator = translation.load_translator(args.model)
    source = open(args.input, encoding="utf-8") if args.input else sys.stdin
    lines = [line.rstrip("\n") for line in source]
    options = _decode_options(args)
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    src = [translator.src_vocab.encode(translator.src_tokenizer.tokenize(s)) for s in lines]
    for hyps in translator.decode_ids(src, **options):
        best = hyps[: args.n_best] if hyps else []
        texts = [translator.detokenize(h.tokens) for h in best] or [""]
        if args.n_best > 1:
            texts = [f"{h.score:.4f}\t{t}" for h, t in zip(best, texts)]
        print("\n".join(texts), file=out)
    if args.output:
        out.close()
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from enc2dec import translation

    scores = translation.evaluate_files(args.model, args.src, args.ref, **_decode_options(args))
    print(f"BLEU {scores.bleu:.2f}  (lowercased {scores.bleu_lc:.2f})  chrF {scores.chrf:.2f}")
    print(f"BLEU signature: {scores.bleu_signature}")
    return 0


def _plot_attention(args: argparse.Namespace) -> int:
    from enc2dec.alignment import plot_alignment

    options = {"method": args.method}
    if args.method == "beam":
        options["beam_size"] = args.beam_size
    result = plot_alignment(args.model, args.src, args.out, **options)
    print(f"translation: {result.translation}")
    print(f"alignment: {args.out}")
    return 0


def _add_translation(verbs) -> None:
    p = verbs.add_parser("train", help="train a sequence model from a YAML config (configs/*.yaml)")
    p.add_argument("config", help="YAML file: model, data, training, decoding sections")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override, e.g. training.lr=0.5")
    p.add_argument("--out", default="runs/translation", help="folder for checkpoints, metrics and plots")
    p.add_argument("--resume", help="checkpoint folder to continue from (e.g. runs/x/last)")
    p.add_argument("--data-dir", default=None, help="data folder (else $ENC2DEC_DATA or ~/.cache/enc2dec)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_train)

    def decode_arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", required=True, help="a run folder or checkpoint folder")
        p.add_argument("--method", choices=["beam", "greedy", "sample"], default="beam")
        p.add_argument("--beam-size", type=int, default=5)
        p.add_argument("--n-best", type=int, default=1, help="print the n best, each as SCORE<TAB>TEXT")
        p.add_argument("--length-penalty", type=float, default=None)

    p = verbs.add_parser("translate", help="translate lines from stdin (or --input) to stdout (or --output)")
    decode_arguments(p)
    p.add_argument("--input", help="source file, one sentence a line (default: stdin)")
    p.add_argument("--output", help="output file (default: stdout)")
    p.set_defaults(handler=_translate)

    p = verbs.add_parser("evaluate", help="BLEU and chrF of a model on a source file against a reference file")
    decode_arguments(p)
    p.add_argument("--src", required=True)
    p.add_argument("--ref", required=True)
    p.set_defaults(handler=_evaluate)


def _average(args: argparse.Namespace) -> int:
    from enc2dec.training import checkpoint

    dirs = args.checkpoints
    if args.last is not None:
        if len(dirs) != 1:
            raise ValueError(f"--last N takes one run folder (holding ckpt-<step>/ folders), got {len(dirs)} paths")
        found = checkpoint.numbered_checkpoints(dirs[0])
        if len(found) < args.last:
            raise ValueError(
                f"{dirs[0]}: --last {args.last} asked, {len(found)} ckpt-<step> folders found "
                "(train with training.keep_checkpoints=N)"
            )
        dirs = found[-args.last :]
    out = checkpoint.average_checkpoints(dirs, args.out)
    print(f"averaged {len(dirs)} checkpoints: {', '.join(str(d) for d in dirs)}")
    print(f"model: {out}")
    return 0


def _add_average(verbs) -> None:
    p = verbs.add_parser("average", help="average the weights of checkpoints (e.g. the last N of a run)")
    p.add_argument("checkpoints", nargs="+", help="checkpoint folders, or with --last one run folder")
    p.add_argument("--last", type=int, default=None, metavar="N", help="the N newest ckpt-<step> folders of the run")
    p.add_argument("--out", required=True, help="folder for the averaged model")
    p.set_defaults(handler=_average)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="enc2dec", description="Encoder-decoder networks from scratch on NumPy.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = verbs.add_parser("quickstart", help="train on bundled data (no download) and show the results")
    p.add_argument("--out", default="runs/quickstart", help="folder for the pictures and checkpoint")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--skip-dates", action="store_true", help="only the dense encoder-decoder on digits")
    p.set_defaults(handler=_quickstart)
    _add_autoencoder(verbs)
    _add_forecast(verbs)
    _add_translation(verbs)
    p = verbs.add_parser("plot-attention", help="draw a model's attention for one sentence: source against output")
    p.add_argument("--model", required=True, help="a run folder or checkpoint folder of a model with attention")
    p.add_argument("--src", required=True, help="the source sentence")
    p.add_argument("--out", default="attention.png", help="PNG file to write")
    p.add_argument("--method", choices=["beam", "greedy"], default="beam")
    p.add_argument("--beam-size", type=int, default=5)
    p.set_defaults(handler=_plot_attention)
    _add_average(verbs)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return args.handler(args)
    except (ValueError, TypeError, OSError, FloatingPointError) as err:
        print(f"enc2dec {args.verb}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
