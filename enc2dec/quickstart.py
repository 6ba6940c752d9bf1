"""The quickstart, on data that needs no download:
- digits: a dense encoder-decoder squeezes scikit-learn's bundled 8x8 digits through a 2-D context vector and is
  compared with PCA's 2 components on held-out digits;
- dates: a sequence-to-sequence LSTM learns to rewrite dates written in many formats as ISO 8601."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from enc2dec.data.arrays import ArrayBatcher
from enc2dec.models.dense import DenseConfig, EncoderDecoder
from enc2dec.training import TrainConfig, Trainer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DigitsResult:
    test_mse: float  # held-out reconstruction error of the encoder-decoder, pixels scaled to [0, 1]
    pca_test_mse: float  # the same for PCA with as many components as the context has dimensions
    codes_png: Path
    loss_png: Path
    train_seconds: float


def run_digits(
    out_dir: str | Path = "runs/quickstart",
    *,
    seed: int = 0,
    epochs: int = 300,
    progress: bool = False,
) -> DigitsResult:
    import time

    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.model_selection import train_test_split

    from enc2dec.plots import plot_codes

    out_dir = Path(out_dir)
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)  # (1797, 64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.2, random_state=seed, stratify=digits.target
    )
    model = EncoderDecoder.from_config(
        DenseConfig(input_size=64, context_size=2, hidden_sizes=(256, 128), activation="tanh"),
        rng=np.random.default_rng(seed),
    )
    train = ArrayBatcher(x_train, x_train, batch_size=64, seed=seed)
    config = TrainConfig(
        optimizer="adam", lr=2e-3, schedule="cosine", max_epochs=epochs, clip_norm=None, progress=progress
    )
    start = time.perf_counter()
    Trainer(model, config, out_dir=out_dir).fit(train)
    seconds = time.perf_counter() - start

    model.eval()
    test_mse = float(np.mean((model.reconstruct(x_test) - x_test) ** 2))
    pca = PCA(n_components=2, random_state=seed).fit(x_train)
    pca_mse = float(np.mean((pca.inverse_transform(pca.transform(x_test)) - x_test) ** 2))
    codes = model.encode(x_test)
    model.clear_cache()
    codes_png = plot_codes(codes, y_test, out_dir / "codes.png", title="digits: held-out 2-D context vectors")
    return DigitsResult(test_mse, pca_mse, codes_png, out_dir / "loss.png", seconds)


DATES_CONFIG = {
    "model": {"type": "seq2seq", "cell": "lstm", "embed_size": 32, "hidden_size": 128, "n_layers": 1,
              "init_scale": None},
    "data": {"task": "dates", "n_train": 12000, "max_tokens": 3000},
    "training": {"optimizer": "adam", "lr": 0.01, "max_epochs": 12, "max_minutes": 3.0,
                 "best_metric": "valid_loss"},
    "decoding": {"method": "greedy", "valid_bleu_sentences": 0},
}  # fmt: skip


@dataclass(frozen=True)
class DatesResult:
    exact_match: float  # share of held-out dates rewritten exactly
    examples: list[tuple[str, str]]  # (input, output)
    out_dir: Path
    train_seconds: float


def run_dates(out_dir: str | Path = "runs/quickstart/dates", *, seed: int = 0, progress: bool = False) -> DatesResult:
    from enc2dec import config as config_io
    from enc2dec import translation

    cfg = config_io.from_dict(translation.TranslationConfig, DATES_CONFIG, "quickstart")
    cfg = config_io.from_dict(
        translation.TranslationConfig, config_io.apply_overrides(config_io.to_dict(cfg), [f"training.seed={seed}"])
    )
    data = translation.load_data(cfg.data)
    result = translation.train(cfg, out_dir, data=data, progress=progress)
    translator = translation.load_translator(result.out_dir)
    inputs = data.test.src_text[:500]
    outputs = translator.translate(inputs)
    exact = sum(o == r for o, r in zip(outputs, data.test.tgt_text)) / len(inputs)
    examples = ["3 March 1999", "Tue 7 Nov 2023", "25/12/1999", "14.07.89", "June 1st, 2001"]
    return DatesResult(
        exact, list(zip(examples, translator.translate(examples))), result.out_dir, 60 * result.train_minutes
    )
