"""Autoencoders on images: the dense autoencoder family (autoencoder, denoising_autoencoder, sparse_autoencoder,
contractive_autoencoder, vae) on MNIST, Fashion-MNIST or scikit-learn's 8x8 digits.

The images are split into train / valid / test, seeded: valid is carved from the training images, and test is the
standard test file where the data set has one. Each evaluation records the objective (valid_loss) and the
reconstruction MSE in data space (valid_mse). The use verbs: `encode`, `decode`, `sample` (a VAE's prior) and
`sweep` (one model per context size against PCA with as many components).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np

from enc2dec.data.arrays import ArrayBatcher
from enc2dec.nn.checks import check_int_field
from enc2dec.nn.module import Module
from enc2dec.tasks.base import Task
from enc2dec.tasks.registry import model_choice, model_type_of
from enc2dec.training import TrainConfig, checkpoint

log = logging.getLogger(__name__)

DATASETS = ("mnist_5k", "digits", "mnist", "fashion_mnist")


@dataclass(frozen=True)
class ImageDataConfig:
    """Which images and the split: shuffled with `seed`, then n_train, n_valid and n_test of them (mnist and
    fashion_mnist: train and valid from the standard training file, test from the test file)."""

    dataset: str = "mnist_5k"  # mnist_5k | digits | mnist | fashion_mnist
    data_dir: str | None = None  # None: $ENC2DEC_DATA or ~/.cache/enc2dec (enc2dec.data.paths)
    n_train: int = 3500
    n_valid: int = 500
    n_test: int = 1000
    batch_size: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"ImageDataConfig.dataset must be one of {DATASETS}, got {self.dataset!r}")
        for name in ("n_train", "n_valid", "n_test", "batch_size"):
            check_int_field("ImageDataConfig", name, getattr(self, name), 1)
        check_int_field("ImageDataConfig", "seed", self.seed, 0)


@dataclass(frozen=True)
class AutoencoderRunConfig:
    task: Literal["autoencoder"]
    model: Annotated[Any, model_choice("autoencoder")]  # {type: autoencoder | ... | vae, ...}
    training: TrainConfig
    data: ImageDataConfig = field(default_factory=ImageDataConfig)


@dataclass
class Images:
    """Rows of pixels in [0, 1], float32 (N, n_in), and their labels (N,) int64, per split."""

    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]


def load_images(cfg: ImageDataConfig) -> Images:
    from enc2dec.data.datasets import mnist

    if cfg.dataset in ("mnist_5k", "digits"):
        x, y = mnist.load_mnist_5k(cfg.data_dir) if cfg.dataset == "mnist_5k" else mnist.load_digits()
        n = cfg.n_train + cfg.n_valid + cfg.n_test
        if n > len(x):
            raise ValueError(f"data: n_train + n_valid + n_test must be at most {len(x)} for {cfg.dataset}, got {n}")
        order = np.random.default_rng(cfg.seed).permutation(len(x))
        cuts = np.cumsum([cfg.n_train, cfg.n_valid, cfg.n_test])
        parts = dict(zip(("train", "valid", "test"), np.split(order[: cuts[-1]], cuts[:-1])))
        return Images({k: x[v] for k, v in parts.items()}, {k: y[v] for k, v in parts.items()})
    kind = "mnist" if cfg.dataset == "mnist" else "fashion"
    x, y = mnist.load_mnist(kind, "train", cfg.data_dir)
    if cfg.n_train + cfg.n_valid > len(x):
        raise ValueError(f"data: n_train + n_valid must be at most {len(x)} for {cfg.dataset}")
    order = np.random.default_rng(cfg.seed).permutation(len(x))
    train, valid = order[: cfg.n_train], order[cfg.n_train : cfg.n_train + cfg.n_valid]
    x_test, y_test = mnist.load_mnist(kind, "test", cfg.data_dir)
    if cfg.n_test > len(x_test):
        raise ValueError(f"data: n_test must be at most {len(x_test)} for {cfg.dataset}, got {cfg.n_test}")
    test = np.random.default_rng(cfg.seed).permutation(len(x_test))[: cfg.n_test]
    return Images({"train": x[train], "valid": x[valid], "test": x_test[test]},
                  {"train": y[train], "valid": y[valid], "test": y_test[test]})  # fmt: skip


def rows(name: str, x: Any, width: int) -> np.ndarray:
    """x as float32 rows (N, width); anything else, or a non-finite value, is an error naming `name`."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != width:
        raise ValueError(f"{name} must have shape (N, {width}), got {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise ValueError(f"{name} must hold real numbers, got dtype {x.dtype}")
    x = x.astype(np.float32)
    bad = np.argwhere(~np.isfinite(x))
    if len(bad):
        raise ValueError(f"{name}: row {bad[0][0]}, column {bad[0][1]} is {x[tuple(bad[0])]}; values must be finite")
    return x


def codes_of(model: Module, x: np.ndarray) -> np.ndarray:
    """x: (N, n_in) -> codes (N, C) in eval mode, nothing cached (a VAE's posterior means)."""
    was_training = model.training
    model.eval()
    codes = model.encode(x)
    model.clear_cache()
    model.train(was_training)
    return codes


class AutoencoderTask(Task):
    name = "autoencoder"
    config_class = AutoencoderRunConfig

    def __init__(self, config: AutoencoderRunConfig):
        super().__init__(config)
        self.latent_by_epoch: list[tuple[int, np.ndarray]] = []  # a 2-D code's validation codes, each evaluation

    def metrics(self) -> dict[str, str]:
        return {"valid_mse": "min"}

    def load_data(self) -> Images:
        data = load_images(self.config.data)
        width = data.x["train"].shape[1]
        if width != self.config.model.input_size:
            raise ValueError(
                f"model.input_size must match the data: {self.config.data.dataset} has {width} features, "
                f"got {self.config.model.input_size}"
            )
        return data

    def split_sizes(self, data: Images) -> dict[str, Any]:
        return {k: len(v) for k, v in data.x.items()} | {"valid_carved_from": "train", "seed": self.config.data.seed}

    def build_model(self, data: Images | None = None) -> Module:
        cfg = self.config
        return model_type_of(cfg.model).model.from_config(cfg.model, rng=np.random.default_rng(cfg.training.seed))

    def batches(self, data: Images) -> tuple[Any, Any]:
        x, d = data.x, self.config.data
        return ArrayBatcher(x["train"], x["train"], batch_size=d.batch_size, seed=d.seed), ArrayBatcher(
            x["valid"], x["valid"], batch_size=256, shuffle=False
        )

    def validate(self, model: Module, data: Images, comm: Any) -> dict[str, float]:
        if self.config.model.context_size == 2:
            self.latent_by_epoch.append((len(self.latent_by_epoch) + 1, codes_of(model, data.x["valid"])))
        return {"valid_mse": model.reconstruction_error(data.x["valid"])}

    def report(self, model: Module, data: Images, out_dir: Path) -> dict[str, Path]:
        from enc2dec import plots

        x, y = data.x["valid"], data.y["valid"]
        found = {"reconstructions": plots.plot_reconstructions(x[:10], model.reconstruct(x[:10]),
                                                               out_dir / "reconstructions.png")}  # fmt: skip
        model.clear_cache()
        if self.latent_by_epoch:
            codes = codes_of(model, x)
            found["latent"] = plots.plot_codes(codes, y, out_dir / "latent.png", title="validation 2-D codes")
            found["latent_epochs"] = plots.plot_latent_epochs(self.latent_by_epoch, y, out_dir / "latent_epochs.png")
        return found

    def load(self, model_dir: Path) -> Module:
        model = self.build_model()
        checkpoint.load_weights(model_dir, model)
        return model.eval()

    def evaluate(self, trained: Module, split: str, out_dir: Path | None, comm: Any) -> dict[str, Any] | None:
        if comm.rank > 0:  # one process scores: a few forward passes
            return None
        x = load_images(self.config.data).x[split]
        scores = {f"{split}_mse": trained.reconstruction_error(x), f"{split}_loss": _mean_loss(trained, x)}
        if hasattr(trained, "neg_elbo"):
            scores[f"{split}_neg_elbo"] = trained.neg_elbo(x)
        return scores | {"n": len(x)}


def _mean_loss(model: Module, x: np.ndarray) -> float:
    from enc2dec.training.trainer import evaluate_loss

    return evaluate_loss(model, ArrayBatcher(x, x, batch_size=256, shuffle=False))


# -- use verbs ----------------------------------------------------------------------------------------------------
def encode(model: Module, x: Any) -> np.ndarray:
    """x: (N, n_in) -> codes: (N, C) (a VAE's posterior means)."""
    return codes_of(model, rows("encode: input", x, model.config.input_size))


def decode(model: Module, codes: Any) -> np.ndarray:
    """codes: (N, C) -> rows: (N, n_in) in data space."""
    return model.decode_mean(rows("decode: input", codes, model.config.context_size))


def sample(model: Module, n: int, *, seed: int = 0) -> np.ndarray:
    """n draws from a VAE's prior, decoded: (n, n_in)."""
    if not hasattr(model, "sample"):
        raise ValueError(f"sample: needs a VAE (model.type vae), got {type(model).__name__}")
    if n < 1:
        raise ValueError(f"sample: n must be >= 1, got {n}")
    return model.sample(n, rng=np.random.default_rng(seed))


def sweep(cfg: AutoencoderRunConfig, sizes: list[int], out_dir: str | Path, *, split: str = "valid",
          progress: bool = False, overwrite: bool = False) -> list[dict[str, float]]:  # fmt: skip
    """Train one run per context size (out_dir/c<size>) and fit PCA with as many components on the training
    images; both reconstruction MSEs on `split`. Writes out_dir/sweep.json and sweep.png; returns the rows."""
    from sklearn.decomposition import PCA

    from enc2dec import plots, run

    if not sizes or any(int(c) < 1 for c in sizes):
        raise ValueError(f"sweep: sizes must be positive integers, got {sizes}")
    out_dir = Path(out_dir)
    data = AutoencoderTask(cfg).load_data()
    x_train, x = data.x["train"], data.x[split]
    table = []
    for c in sizes:
        size_cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, context_size=int(c)))
        result = run.train(size_cfg, out_dir / f"c{c}", data=data, progress=progress, overwrite=overwrite)
        pca = PCA(n_components=min(int(c), *x_train.shape), random_state=cfg.data.seed).fit(x_train)
        pca_mse = float(np.mean((pca.inverse_transform(pca.transform(x)) - x) ** 2))
        ae_mse = result.model.reconstruction_error(x)
        table.append({"context_size": int(c), "ae_mse": ae_mse, "pca_mse": pca_mse, "ratio": ae_mse / pca_mse})
        log.info("sweep: %s", table[-1])
    checkpoint.save_json(out_dir / "sweep.json", {"split": split, "rows": table})
    plots.plot_sweep(table, out_dir / "sweep.png")
    return table
