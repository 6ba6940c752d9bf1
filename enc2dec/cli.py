"""The `enc2dec` command: argparse verbs that call the Python API (enc2dec.run and the tasks). Only this module
prints. One grammar for every task: `enc2dec train CONFIG` (the config names its task), `enc2dec evaluate --model
DIR`, and use verbs that all take --model DIR."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

GROUPS = {
    "every task": ("quickstart", "train", "evaluate", "average", "export"),
    "translation": ("translate", "shortlist", "plot-attention"),
    "autoencoder": ("encode", "decode", "sample", "sweep"),
    "forecast": ("forecast",),
}


# -- every task ---------------------------------------------------------------------------------------------------
def _quickstart(args: argparse.Namespace) -> int:
    from enc2dec import quickstart

    print("Dense encoder-decoder on scikit-learn's 8x8 digits: 64 -> 256 -> 128 -> 2 -> 128 -> 256 -> 64")
    result = quickstart.run_digits(Path(args.out) / "digits", seed=args.seed, progress=not args.quiet)
    print(f"trained in {result.train_seconds:.1f} s (model chosen on {result.n_valid} validation digits)")
    print(f"test reconstruction MSE, 2-D context: encoder-decoder {result.test_mse:.4f}, PCA {result.pca_test_mse:.4f}")
    print(f"2-D codes by digit: {result.codes_png}")
    print(f"loss curve:         {result.loss_png}")
    if args.skip_dates:
        return 0
    print("\nSequence to sequence (LSTM encoder -> context -> LSTM decoder): dates in many formats -> ISO 8601")
    dates = quickstart.run_dates(Path(args.out) / "dates", seed=args.seed, progress=not args.quiet)
    print(f"trained in {dates.train_seconds:.1f} s; test dates rewritten exactly: {100 * dates.exact_match:.1f} %")
    for text, iso in dates.examples:
        print(f"  {text:>16}  ->  {iso}")
    print(f"model: {dates.out_dir}  (try: enc2dec translate --model {dates.out_dir})")
    return 0


def _train(args: argparse.Namespace) -> int:
    from enc2dec import run
    from enc2dec.training import distributed

    cfg = run.with_data_dir(run.load_config(args.config, args.set), args.data_dir)
    out = args.out or args.resume or f"runs/{Path(args.config).stem}"
    if args.resume and Path(args.resume).resolve() != Path(out).resolve():
        raise ValueError(f"--resume {args.resume} continues the run in that folder; --out {args.out} names another")
    if args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    launched = distributed.launched_size()
    if args.workers > 1 and launched == 1:
        return _train_workers(args, out)
    if args.workers > 1 and launched != args.workers:
        raise ValueError(f"--workers {args.workers}, but the MPI launcher started {launched} processes")
    comm = distributed.world()
    result = run.train(cfg, out, resume=bool(args.resume), overwrite=args.overwrite, progress=not args.quiet, comm=comm)
    if comm.rank != 0:
        return 0
    best = {k: v for k, v in result.best.items() if k.startswith("valid_")}
    shown = ", ".join(f"{k} {v:.4g}" for k, v in best.items())
    print(f"trained {result.minutes:.1f} min, {result.history.evals[-1]['step']} steps")
    print(f"best checkpoint (step {result.best['step']}, by {cfg.training.best_metric}): {shown}")
    print(f"model: {result.out_dir}/best; to resume: {result.out_dir}/last")
    for name, path in result.pictures.items():
        print(f"{name}: {path}")
    print(f"next: enc2dec evaluate --model {result.out_dir} --split valid")
    return 0


def _train_workers(args: argparse.Namespace, out: str) -> int:
    """`train --workers N`: the same command again, as N processes under mpiexec (the mpi extra)."""
    import importlib.util
    import shutil
    import subprocess

    from enc2dec.training.distributed import MPI_EXTRA

    beside = Path(sys.executable).parent / "mpiexec"  # the mpich wheel's, in this environment
    mpiexec = str(beside) if beside.is_file() else shutil.which("mpiexec")
    if mpiexec is None or importlib.util.find_spec("mpi4py") is None:
        missing = " and ".join(
            n for n, ok in (("mpi4py", importlib.util.find_spec("mpi4py")), ("mpiexec", mpiexec)) if not ok
        )
        raise ValueError(f"--workers {args.workers} needs {missing}, not installed: {MPI_EXTRA}")
    argv = list(args.argv)
    for i, arg in enumerate(argv):
        if arg == "--workers":
            del argv[i : i + 2]
            break
        if arg.startswith("--workers="):
            del argv[i]
            break
    command = [mpiexec, "-n", str(args.workers), sys.executable, "-m", "enc2dec.cli", *argv]
    code = subprocess.run(command).returncode
    if code in (0, 2):  # done, or a user error the workers have printed
        return code
    raise ChildProcessError(
        f"the {args.workers} worker processes ended with exit status {code} (a process failed or was killed); "
        f"{out}/last holds the last complete checkpoint: continue with --resume {out}"
    )


def _evaluate(args: argparse.Namespace) -> int:
    from enc2dec import run

    if args.src or args.ref:
        return _evaluate_files(args)
    options = {}
    if _decoding_given(args):
        options = _score_options(
            args, _loaded(args.model[0], "translation", "evaluate with decoding options").trained.decoding
        )
    model = args.model[0] if len(args.model) == 1 else args.model
    scores = run.evaluate(model, args.split, data_dir=args.data_dir, out_dir=args.out, options=options)
    if scores is None:  # a rank other than 0 under mpiexec: rank 0 prints
        return 0
    _print_scores(scores)
    if args.out:
        print(f"scores: {Path(args.out) / f'scores_{args.split}.json'}")
    return 0


def _print_scores(scores: dict[str, Any], indent: str = "") -> None:
    for key, value in scores.items():
        if isinstance(value, dict):
            print(f"{indent}{key}:")
            _print_scores(value, indent + "  ")
        elif isinstance(value, float):
            print(f"{indent}{key}: {value:.4f}")
        elif not isinstance(value, list):
            print(f"{indent}{key}: {value}")


def _evaluate_files(args: argparse.Namespace) -> int:
    from enc2dec.data.text import read_eval_pairs
    from enc2dec.tasks.translation import score_translator

    if not (args.src and args.ref):
        raise ValueError("evaluate: --src and --ref go together (a source file and its reference translations)")
    translator = _translator(args.model, "evaluate --src/--ref")
    pairs = read_eval_pairs(args.src, args.ref)
    options = _score_options(args, translator.decoding)
    _print_scores(score_translator(translator, pairs.src, pairs.tgt, **options))
    return 0


def _average(args: argparse.Namespace) -> int:
    from enc2dec.training import checkpoint

    dirs = args.model
    if args.last is not None:
        if args.last < 1:
            raise ValueError(f"--last must be >= 1, got {args.last}")
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


def _export(args: argparse.Namespace) -> int:
    from enc2dec.export import export

    options = {"quantization": args.quantization} if args.quantization else {}
    out = export(args.model, args.format, args.out, **options)
    print(f"exported to {args.format}{f' ({args.quantization})' if args.quantization else ''}")
    print(f"model: {out}")
    return 0


def _loaded(model: str, task: str, verb: str, data_dir: str | None = None) -> Any:
    from enc2dec import run

    loaded = run.load(model, data_dir=data_dir)
    if loaded.config.task != task:
        raise ValueError(f"{verb}: {loaded.directory} holds a {loaded.config.task} model; {verb} needs a {task} model")
    return loaded


# -- translation --------------------------------------------------------------------------------------------------
def _translator(models: list[str], verb: str) -> Any:
    """The Translator of one --model, or the ensemble of several."""
    from enc2dec.tasks import translation

    translators = [_loaded(m, "translation", verb).trained for m in models]
    return translators[0] if len(translators) == 1 else translation.ensemble(translators)


def _decode_options(args: argparse.Namespace, configured: Any) -> dict:
    """The decoding options given on the command line, over the model's configured decoding (DecodeConfig)."""
    method = args.method or configured.method
    options: dict[str, Any] = {"method": method}
    for flag, needs in _METHOD_FLAGS.items():
        value = getattr(args, flag[2:].replace("-", "_"))
        if value is not None and method != needs:
            raise ValueError(f"{flag} is for --method {needs}, got --method {method}")
    for name in ("min_length", "no_repeat_ngram"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    if args.shortlist is not None:
        from enc2dec.decoding.shortlist import Shortlist

        options["shortlist"] = Shortlist.load(args.shortlist)
    if method == "beam":
        options["n_best"] = args.n_best
        for name in ("beam_size", "length_penalty", "length_penalty_style"):
            if getattr(args, name) is not None:
                options[name] = getattr(args, name)
    elif method == "sample":
        for name in ("seed", "temperature", "top_k", "top_p"):
            if getattr(args, name) is not None:
                options[name] = getattr(args, name)
        if args.n_best > 1:
            options["num_samples"] = args.n_best
    elif args.n_best > 1:
        raise ValueError(f"--n-best {args.n_best} needs --method beam or sample, got {method}")
    return options


def _score_options(args: argparse.Namespace, configured: Any) -> dict:
    """_decode_options for evaluate, which scores each sentence's best translation."""
    if args.n_best != 1:
        raise ValueError(f"--n-best is for translate; evaluate scores the best translation, got --n-best {args.n_best}")
    options = _decode_options(args, configured)
    options.pop("n_best", None)
    return options


_METHOD_FLAGS = {"--beam-size": "beam", "--length-penalty": "beam", "--length-penalty-style": "beam",
                 "--seed": "sample", "--temperature": "sample", "--top-k": "sample", "--top-p": "sample"}  # fmt: skip
_DECODING_OPTIONS = ("method", "beam_size", "length_penalty", "length_penalty_style", "min_length", "no_repeat_ngram",
                     "seed", "temperature", "top_k", "top_p", "shortlist")  # fmt: skip


def _decoding_given(args: argparse.Namespace) -> bool:
    return any(getattr(args, name) is not None for name in _DECODING_OPTIONS) or args.n_best != 1


def _shortlist(args: argparse.Namespace) -> int:
    from enc2dec.tasks.translation import split_pairs

    loaded = _loaded(args.model, "translation", "shortlist", data_dir=args.data_dir)
    sources, targets = split_pairs(loaded.config.data, "train")
    shortlist = loaded.trained.build_shortlist(sources, targets, n_frequent=args.frequent, per_source=args.per_source)
    out = shortlist.save(args.out)
    print(f"shortlist of {loaded.directory}: the {len(shortlist.frequent)} most frequent target tokens (specials "
          f"included) and {args.per_source} per source token, from {len(sources)} training pairs")  # fmt: skip
    print(f"shortlist: {out}; decode with --shortlist {out}")
    return 0


def _translate(args: argparse.Namespace) -> int:
    """Reads the input in batches of lines as they arrive (data.lines.line_batches) and writes each batch's
    translations before reading on, flushed: it can sit in a pipe or answer a terminal. Under `mpiexec -n N` rank
    0 reads, the ranks share each batch (whole decoding batches: Translator.decode_ids) and rank 0 writes: the
    same bytes as one process."""
    from enc2dec.data.lines import line_batches, read_lines
    from enc2dec.decoding.batch import SourcesTooLongError, n_best_rows
    from enc2dec.training import distributed

    comm = distributed.world()
    translator = _translator(args.model, "translate")
    if args.n_best < 1:
        raise ValueError(f"--n-best must be >= 1, got {args.n_best}")
    options = _decode_options(args, translator.decoding)
    batches = line_batches(args.input, args.batch_lines) if comm.rank == 0 else iter(())  # stdin reaches rank 0
    prefixes = read_lines(args.prefix) if args.prefix and comm.rank == 0 else None
    out = sys.stdout if comm.rank != 0 or not args.output else open(args.output, "w", encoding="utf-8")  # noqa: SIM115
    done, failed = 0, False
    try:
        while (lines := comm.bcast_json(next(batches, None) if comm.rank == 0 else None)) is not None:
            too_long, forced = [], {}
            if prefixes is not None:
                if len(prefixes) < done + len(lines):
                    raise ValueError(f"--prefix {args.prefix}: {len(prefixes)} lines, fewer than the input's: one "
                                     f"prefix per input line")  # fmt: skip
                forced["prefix"] = [translator.encode_target(p) for p in prefixes[done : done + len(lines)]]
            forced = comm.bcast_json(forced)
            try:
                hyps = translator.decode_ids([translator.encode(s) for s in lines], comm=comm, **options, **forced)
            except SourcesTooLongError as err:  # the other lines are translated; these are reported below
                hyps, too_long = err.results, err.too_long
            if comm.rank == 0:
                for best in n_best_rows(hyps, args.n_best):  # always n_best lines per input: "" where none
                    for h in best:
                        text = translator.detokenize(h.tokens) if h is not None else ""
                        score = h.score if h is not None else float("-inf")
                        print(text if args.n_best == 1 else f"{score:.4f}\t{text}", file=out)
                out.flush()
                for t in too_long:
                    where = f"{args.input or '<stdin>'}: line {done + t.index + 1}"
                    print(f"enc2dec translate: error: {where}: {t}", file=sys.stderr, flush=True)
            done += len(lines)
            failed = failed or bool(too_long)
    finally:
        if out is not sys.stdout:
            out.close()
    if prefixes is not None and len(prefixes) != done:
        raise ValueError(f"--prefix {args.prefix}: {len(prefixes)} lines, the input {done}: one prefix per input line")
    return comm.bcast_json(2 if failed else 0)  # rank 0 saw the over-long lines


def _plot_attention(args: argparse.Namespace) -> int:
    from enc2dec.plots import plot_attention
    from enc2dec.tasks.alignment import align

    translator = _loaded(args.model, "translation", "plot-attention").trained
    options = {"method": args.method} | ({"beam_size": args.beam_size} if args.method == "beam" else {})
    result = align(translator, args.src, **options)
    plot_attention(result.weights, result.src_tokens, result.out_tokens, args.out)
    print(f"translation: {result.translation}")
    print(f"alignment: {args.out}")
    return 0


# -- autoencoders -------------------------------------------------------------------------------------------------
def _load_rows(path: str) -> Any:
    import numpy as np

    if not path.endswith(".npy"):
        raise ValueError(f"--input must be a .npy file of shape (N, features), got {path!r}")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, EOFError) as err:
        raise ValueError(f"{path}: not a readable .npy array ({err})") from err


def _save_rows(path: str, array: Any) -> None:
    import numpy as np

    if not path.endswith(".npy"):
        raise ValueError(f"--output must name a .npy file, got {path!r}")
    np.save(path, array, allow_pickle=False)
    print(f"wrote {path}: shape {array.shape}")


def _encode(args: argparse.Namespace) -> int:
    """Under `mpiexec -n N` each rank encodes a contiguous block of rows and rank 0 writes them all."""
    from enc2dec.tasks import autoencoder
    from enc2dec.training import distributed

    comm = distributed.world()
    model = _loaded(args.model, "autoencoder", "encode").trained
    codes = distributed.shard_rows(comm, _load_rows(args.input), lambda rows: autoencoder.encode(model, rows))
    if comm.rank == 0:
        _save_rows(args.output, codes)
    return 0


def _decode(args: argparse.Namespace) -> int:
    from enc2dec.tasks import autoencoder

    model = _loaded(args.model, "autoencoder", "decode").trained
    images = autoencoder.decode(model, _load_rows(args.input))
    _save_rows(args.output, images)
    if args.png:
        from enc2dec.plots import plot_image_grid

        print(f"picture: {plot_image_grid(images[:64], args.png)}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from enc2dec.tasks import autoencoder

    model = _loaded(args.model, "autoencoder", "sample").trained
    images = autoencoder.sample(model, args.n, seed=args.seed)
    if args.output.endswith(".png"):
        from enc2dec.plots import plot_image_grid

        print(f"picture: {plot_image_grid(images, args.output, title='VAE samples')}")
    else:
        _save_rows(args.output, images)
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from enc2dec import run
    from enc2dec.tasks import autoencoder

    cfg = run.with_data_dir(_loaded(args.model, "autoencoder", "sweep").config, args.data_dir)
    rows = autoencoder.sweep(cfg, args.sizes, args.out, split=args.split, progress=not args.quiet,
                             overwrite=args.overwrite)  # fmt: skip
    print(f"reconstruction MSE on the {args.split} split")
    print(f"{'size':>5} {'autoencoder':>12} {'PCA':>10} {'ratio':>7}")
    for r in rows:
        print(f"{r['context_size']:>5} {r['ae_mse']:>12.5f} {r['pca_mse']:>10.5f} {r['ratio']:>7.3f}")
    print(f"table: {args.out}/sweep.json, plot: {args.out}/sweep.png")
    return 0


# -- forecasting --------------------------------------------------------------------------------------------------
def _forecast(args: argparse.Namespace) -> int:
    from enc2dec.tasks import forecast

    trained = _loaded(args.model, "forecast", "forecast").trained
    p = forecast.predict(trained, origin=args.origin, csv=args.csv)
    band = p.lower is not None
    rows = ["step,date,mean" + (",lower95,upper95" if band else "")]
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


# -- the parser ---------------------------------------------------------------------------------------------------
def _model(p: argparse.ArgumentParser, many: bool = False) -> None:
    help = "a run folder (its best/) or a checkpoint folder"
    if many:
        p.add_argument("--model", required=True, action="append", help=help + "; repeat for several")
    else:
        p.add_argument("--model", required=True, help=help)


def _decoding(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", choices=["beam", "greedy", "sample"], default=None, help="default: the model's")
    p.add_argument("--beam-size", type=int, default=None, help="default: the model's decoding.beam_size")
    p.add_argument("--n-best", type=int, default=1, help="write the n best per input, each as SCORE<TAB>TEXT")
    p.add_argument("--length-penalty", type=float, default=None, help="beam: alpha (default: the model's)")
    p.add_argument("--length-penalty-style", choices=["avg", "gnmt"], default=None,
                   help="beam: score / length ** alpha (avg) or / ((5 + length) / 6) ** alpha (gnmt)")  # fmt: skip
    p.add_argument("--min-length", type=int, default=None, help="no end of sentence before this many tokens")
    p.add_argument("--no-repeat-ngram", type=int, default=None, metavar="N", help="no N-gram twice in one output")
    p.add_argument("--seed", type=int, default=None, help="--method sample: the random seed (default: the model's)")
    p.add_argument("--temperature", type=float, default=None, help="--method sample: below 1 sharpens")
    p.add_argument("--top-k", type=int, default=None, help="--method sample: draw from the k most likely tokens")
    p.add_argument("--top-p", type=float, default=None, help="--method sample: from the smallest set of mass p")
    p.add_argument("--shortlist", default=None, metavar="DIR",
                   help="decode over a lexical shortlist of target tokens (enc2dec shortlist): faster, approximate")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    from enc2dec.export import FORMATS  # no engine imported: each format imports its own when it runs

    listing = "\n".join(f"  {group}: {', '.join(verbs)}" for group, verbs in GROUPS.items())
    parser = argparse.ArgumentParser(
        prog="enc2dec",
        description="Encoder-decoder networks from scratch on NumPy.\n\nverbs by task:\n" + listing,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(name: str, help: str, handler: Any) -> argparse.ArgumentParser:
        p = verbs.add_parser(name, help=help)
        p.set_defaults(handler=handler)
        return p

    p = verb("quickstart", "train on bundled data (no download) and show the results", _quickstart)
    p.add_argument("--out", default="runs/quickstart", help="folder for the runs and pictures")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--skip-dates", action="store_true", help="only the dense encoder-decoder on digits")

    p = verb("train", "train the model of a YAML config (its `task` says which: translation, autoencoder, ...)", _train)
    p.add_argument("config", help="YAML file: task, model, data, training (and the task's sections)")
    p.add_argument("--out", default=None, help="the run folder (default: runs/<config name>)")
    p.add_argument("--data-dir", default=None, help="data folder (else $ENC2DEC_DATA or ~/.cache/enc2dec)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override, e.g. training.lr=1e-3")
    p.add_argument("--resume", default=None, metavar="DIR", help="continue the run in DIR from its last/")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="train data-parallel on N processes (starts mpiexec; needs the mpi extra)")  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="replace the run that --out holds")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = verb("evaluate", "score a saved model on its data's valid or test split (the only place test is scored)",
             _evaluate)  # fmt: skip
    _model(p, many=True)  # several translation models: their ensemble
    p.add_argument("--split", choices=["valid", "test"], default="valid")
    p.add_argument("--data-dir", default=None, help="data folder (else as configured)")
    p.add_argument("--out", default=None, help="folder for scores_<split>.json and the task's pictures")
    p.add_argument("--src", default=None, help="translation: score on this source file instead of a split")
    p.add_argument("--ref", default=None, help="translation: the reference file for --src")
    _decoding(p)

    p = verb("average", "average the weights of checkpoints (or the last N of a run)", _average)
    _model(p, many=True)
    p.add_argument("--last", type=int, default=None, metavar="N", help="the N newest ckpt-<step> folders of the run")
    p.add_argument("--out", required=True, help="folder for the averaged model")

    p = verb("export", "write a model for another inference engine (ctranslate2: the Transformer)", _export)
    _model(p)
    p.add_argument("--format", required=True, choices=sorted(FORMATS), help="the engine the model is written for")
    p.add_argument("--out", required=True, help="folder for the exported model (new, empty or an earlier export)")
    p.add_argument("--quantization", default=None, help="ctranslate2: int8 or int8_float32 weights (default: float32)")

    p = verb("translate", "translate lines from stdin (or --input) to stdout (or --output)", _translate)
    _model(p, many=True)
    _decoding(p)
    p.add_argument("--input", help="source file, one sentence a line (default: stdin)")
    p.add_argument("--output", help="output file (default: stdout)")
    p.add_argument("--prefix", metavar="FILE", help="target text each translation must start with, a line per input")
    p.add_argument("--batch-lines", type=int, default=1000, metavar="N",
                   help="read and write N lines at a time (fewer from a pipe or a terminal: the lines there)")  # fmt: skip

    p = verb("shortlist", "build a lexical shortlist of target tokens from a model's training data (for --shortlist)",
             _shortlist)  # fmt: skip
    _model(p)
    p.add_argument("--out", required=True, help="folder for the shortlist")
    p.add_argument("--frequent", type=int, default=200, metavar="F", help="the F most frequent target tokens, always")
    p.add_argument("--per-source", type=int, default=20, metavar="K",
                   help="the K target tokens most often in a pair with each source token")  # fmt: skip
    p.add_argument("--data-dir", default=None, help="data folder (else as configured)")

    p = verb("plot-attention", "draw a model's attention for one sentence: source against output", _plot_attention)
    _model(p)
    p.add_argument("--src", required=True, help="the source sentence")
    p.add_argument("--out", default="attention.png", help="PNG file to write")
    p.add_argument("--method", choices=["beam", "greedy"], default="beam")
    p.add_argument("--beam-size", type=int, default=5)

    for name, help, handler in (
        ("encode", "rows (.npy, (N, features)) -> codes (.npy)", _encode),
        ("decode", "codes (.npy, (N, C)) -> rows in data space (.npy)", _decode),
    ):
        p = verb(name, help, handler)
        _model(p)
        p.add_argument("--input", required=True)
        p.add_argument("--output", required=True)
        if name == "decode":
            p.add_argument("--png", default=None, help="also draw the first 64 rows as images")

    p = verb("sample", "draw from a VAE's prior; --output .png (a picture) or .npy", _sample)
    _model(p)
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", required=True)

    p = verb("sweep", "retrain a run's autoencoder at several context sizes, against PCA", _sweep)
    _model(p)
    p.add_argument("--sizes", type=int, nargs="+", default=[2, 4, 8, 16, 32, 64])
    p.add_argument("--split", choices=["valid", "test"], default="valid", help="where both are scored")
    p.add_argument("--out", default="runs/sweep", help="folder for one run per size, sweep.json and sweep.png")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--overwrite", action="store_true", help="replace runs already in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = verb("forecast", "forecast the horizon after the series' end (or --origin) as CSV", _forecast)
    _model(p)
    p.add_argument("--csv", default=None, help="another CSV file with the configured columns (data.dataset csv)")
    p.add_argument("--origin", type=int, default=None, help="forecast from this step (default: the series' end)")
    p.add_argument("--output", default=None, help="CSV file to write (default: stdout)")
    p.add_argument("--png", default=None, help="also draw the forecast after its input window")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        from enc2dec.training import distributed

        distributed.limit_threads_per_rank()  # under mpiexec: the processes share the cores
        return args.handler(args)
    except (ValueError, TypeError, OSError, FloatingPointError, ImportError) as err:
        message = " ".join(str(err).split("\n"))
        if _mpi_rank() in (None, 0):  # under MPI the ranks fail alike: one line, from rank 0
            print(f"enc2dec {args.verb}: error: {message}", file=sys.stderr, flush=True)
        return _end_job(2)
    except KeyboardInterrupt:
        print(f"enc2dec {args.verb}: interrupted", file=sys.stderr)
        return _end_job(130)
    except Exception:
        if _mpi_rank() is None:
            raise
        import traceback

        traceback.print_exc()
        return _end_job(1)


def _mpi_rank() -> int | None:
    """This process's rank when started by an MPI launcher with several processes; None when not."""
    from enc2dec.training import distributed

    try:
        return distributed.world().rank if distributed.launched_size() > 1 else None
    except ImportError:  # launched by MPI without mpi4py: each process is alone
        return None


def _end_job(code: int) -> int:
    """Under MPI, a failing process ends the whole job (the others would wait for it forever)."""
    from enc2dec.training import distributed

    if _mpi_rank() is not None:
        sys.stderr.flush()
        distributed.world().abort(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
