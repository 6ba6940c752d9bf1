"""The quickstart, on data that needs no download, made of ordinary runs (enc2dec.run):
- digits: a dense autoencoder squeezes scikit-learn's bundled 8x8 digits through a 2-D context vector, chosen on
  validation digits, then compared with PCA's 2 components on the test digits;
- dates: a sequence-to-sequence LSTM learns to rewrite dates written in many formats as ISO 8601."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DIGITS_CONFIG = {
    "task": "autoencoder",
    "model": {"type": "autoencoder", "input_size": 64, "context_size": 2, "hidden_sizes": [256, 128],
              "activation": "tanh"},
    "data": {"dataset": "digits", "n_train": 1200, "n_valid": 237, "n_test": 360, "batch_size": 64},
    "training": {"optimizer": "adam", "lr": 2e-3, "schedule": "cosine", "max_epochs": 300, "clip_norm": None,
                 "eval_every_steps": 570, "best_metric": "valid_mse"},
}  # fmt: skip

DATES_CONFIG = {
    "task": "translation",
    "model": {"type": "seq2seq", "cell": "lstm", "embed_size": 32, "hidden_size": 128, "n_layers": 1,
              "init_scale": None},
    "data": {"dataset": "dates", "n_train": 12000, "max_tokens": 3000},
    "training": {"optimizer": "adam", "lr": 0.01, "max_epochs": 12, "best_metric": "valid_loss"},
    "decoding": {"method": "greedy", "valid_bleu_sentences": 0},
}  # fmt: skip


@dataclass(frozen=True)
class DigitsResult:
    test_mse: float  # test reconstruction error of the encoder-decoder, pixels scaled to [0, 1]
    pca_test_mse: float  # the same for PCA with as many components as the context has dimensions
    n_valid: int
    codes_png: Path
    loss_png: Path
    train_seconds: float


def _train(data: dict, out_dir: str | Path, seed: int, overrides: list[str], progress: bool) -> tuple[Any, float]:
    """One quickstart run (its folder replaced) -> (run.RunResult, seconds of training)."""
    from enc2dec import config as config_io
    from enc2dec import run

    cfg = run.config_from_dict(config_io.apply_overrides(data, [f"training.seed={seed}", *overrides]), "quickstart")
    start = time.perf_counter()
    result = run.train(cfg, out_dir, overwrite=True, progress=progress)
    return result, time.perf_counter() - start


def run_digits(out_dir: str | Path = "runs/quickstart/digits", *, seed: int = 0, progress: bool = False,
               overrides: list[str] = ()) -> DigitsResult:  # fmt: skip
    from sklearn.decomposition import PCA

    from enc2dec import run
    from enc2dec.plots import plot_codes
    from enc2dec.tasks.autoencoder import codes_of

    result, seconds = _train(DIGITS_CONFIG, out_dir, seed, list(overrides), progress)
    x_train, x_test, y_test = result.data.x["train"], result.data.x["test"], result.data.y["test"]
    test_mse = run.evaluate(result.out_dir, "test")["test_mse"]  # the one explicit test evaluation
    pca = PCA(n_components=2, random_state=seed).fit(x_train)
    pca_mse = float(np.mean((pca.inverse_transform(pca.transform(x_test)) - x_test) ** 2))
    codes_png = plot_codes(codes_of(result.model, x_test), y_test, result.out_dir / "codes.png",
                           title="digits: test 2-D context vectors")  # fmt: skip
    return DigitsResult(test_mse, pca_mse, len(result.data.x["valid"]), codes_png, result.out_dir / "loss.png", seconds)


@dataclass(frozen=True)
class DatesResult:
    exact_match: float  # share of test dates rewritten exactly
    examples: list[tuple[str, str]]  # (input, output)
    out_dir: Path
    train_seconds: float


def run_dates(out_dir: str | Path = "runs/quickstart/dates", *, seed: int = 0, progress: bool = False,
              overrides: list[str] = ()) -> DatesResult:  # fmt: skip
    from enc2dec import run

    result, seconds = _train(DATES_CONFIG, out_dir, seed, list(overrides), progress)
    translator = run.load(result.out_dir).trained
    test = result.data.test
    outputs = [t.text for t in translator.translate(test.src_text)]
    exact = sum(o == r for o, r in zip(outputs, test.tgt_text)) / len(outputs)
    examples = ["3 March 1999", "Tue 7 Nov 2023", "25/12/1999", "14.07.89", "June 1st, 2001"]
    return DatesResult(
        exact, list(zip(examples, [t.text for t in translator.translate(examples)])), result.out_dir, seconds
    )
