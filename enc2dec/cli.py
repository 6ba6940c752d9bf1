"""The `enc2dec` command: argparse verbs that call the Python API. Only this module prints."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

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
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="enc2dec", description="Encoder-decoder networks from scratch on NumPy.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = verbs.add_parser("quickstart", help="train on bundled data (no download) and show the results")
    p.add_argument("--out", default="runs/quickstart", help="folder for the pictures and checkpoint")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_quickstart)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return args.handler(args)
    except (ValueError, TypeError, FileNotFoundError, FloatingPointError) as err:
        print(f"enc2dec {args.verb}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
