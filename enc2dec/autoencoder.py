"""The autoencoder application: train, encode, decode, sample and sweep, driven by a YAML config.

    cfg = config.load("configs/autoencoder_mnist.yaml", AutoencoderRunConfig)
    result = train(cfg, "runs/ae")                     # checkpoint in runs/ae/last, pictures beside it
    codes = encode("runs/ae", x)                       # (N, C)
    images = decode("runs/ae", codes)                  # (N, n_in), in data space
    images = sample("runs/ae", 16)                     # a VAE's draws from the prior
    table = sweep(cfg, [2, 4, 8], "runs/sweep")        # held-out error of the autoencoder and PCA per size

The CLI verbs `enc2dec autoencoder train | encode | decode | sample | sweep` call these functions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from enc2dec.data.arrays import ArrayBatcher
from enc2dec.models.autoencoders import AutoencoderConfig, build_autoencoder
from enc2dec.nn.module import Module
from enc2dec.training import History, TrainConfig, Trainer, checkpoint

log = logging.getLogger(__name__)

DATASETS = ("mnist_5k", "digits", "mnist", "fashion_mnist")


@dataclass(frozen=True)
class DataConfig:
    """Which images, how many, and the split: shuffled with `seed`, then the first n_train and the next n_test
    (for mnist / fashion_mnist: from the standard train and test files)."""

    dataset: str = "mnist_5k"  # mnist_5k | digits | mnist | fashion_mnist
    data_dir: str | None = None  # None: $ENC2DEC_DATA or ~/.cache/enc2dec (enc2dec.data.paths)
    n_train: int = 4000
    n_test: int = 1000
    batch_size: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"DataConfig.dataset must be one of {DATASETS}, got {self.dataset!r}")
        for name in ("n_train", "n_test", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"DataConfig.{name} must be >= 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class AutoencoderRunConfig:
    model: AutoencoderConfig
    training: TrainConfig
    data: DataConfig = field(default_factory=DataConfig)


@dataclass
class Split:
    x_train: np.ndarray  # (N_train, n_in) float32 in [0, 1]
    y_train: np.ndarray  # (N_train,) int64
    x_test: np.ndarray
    y_test: np.ndarray


@dataclass
class TrainResult:
    model: Module
    history: History
    data: Split
    checkpoint_dir: Path | None
    test_mse: float  # held-out reconstruction MSE in data space
    pictures: dict[str, Path] = field(default_factory=dict)
    latent_by_epoch: list[tuple[int, np.ndarray]] = field(default_factory=list)  # 2-D codes only


def load_config(path: str | Path, overrides: list[str] | None = None) -> AutoencoderRunConfig:
    from enc2dec import config

    return config.load(path, AutoencoderRunConfig, overrides)


def load_data(cfg: DataConfig) -> Split:
    """The configured images as float32 rows in [0, 1], split into train and held-out parts."""
    from enc2dec.data.datasets import mnist

    if cfg.dataset in ("mnist_5k", "digits"):
        x, y = mnist.load_mnist_5k(cfg.data_dir) if cfg.dataset == "mnist_5k" else mnist.load_digits()
        if cfg.n_train + cfg.n_test > len(x):
            raise ValueError(
                f"DataConfig: n_train + n_test must be at most {len(x)} for {cfg.dataset}, "
                f"got {cfg.n_train} + {cfg.n_test}"
            )
        order = np.random.default_rng(cfg.seed).permutation(len(x))
        train, test = order[: cfg.n_train], order[cfg.n_train : cfg.n_train + cfg.n_test]
        return Split(x[train], y[train], x[test], y[test])
    kind = "mnist" if cfg.dataset == "mnist" else "fashion"
    parts = []
    for split, n in (("train", cfg.n_train), ("test", cfg.n_test)):
        x, y = mnist.load_mnist(kind, split, cfg.data_dir)
        if n > len(x):
            raise ValueError(f"DataConfig: n_{split} must be at most {len(x)} for {cfg.dataset}, got {n}")
        take = np.random.default_rng(cfg.seed).permutation(len(x))[:n]
        parts += [x[take], y[take]]
    return Split(*parts)


def _check_width(cfg: AutoencoderRunConfig, data: Split) -> None:
    if data.x_train.shape[1] != cfg.model.input_size:
        raise ValueError(
            f"model.input_size must match the data: {cfg.data.dataset} has {data.x_train.shape[1]} features, "
            f"got {cfg.model.input_size}"
        )


def _codes(model: Module, x: np.ndarray) -> np.ndarray:
    was_training = model.training
    model.eval()
    codes = model.encode(x)
    model.clear_cache()
    model.train(was_training)
    return codes


def train(
    cfg: AutoencoderRunConfig,
    out_dir: str | Path | None = None,
    *,
    data: Split | None = None,
    progress: bool = False,
    pictures: bool = True,
) -> TrainResult:
    """Train the configured model on the training split; the held-out loss after every epoch (valid_loss).

    With out_dir: checkpoints (out_dir/last, out_dir/best), metrics.jsonl, loss.png, reconstructions.png and, for
    a 2-D code, latent.png (held-out codes by class) and latent_epochs.png (the codes epoch by epoch).
    """
    data = load_data(cfg.data) if data is None else data
    _check_width(cfg, data)
    model = build_autoencoder(cfg.model, rng=np.random.default_rng(cfg.training.seed))
    snapshots: list[tuple[int, np.ndarray]] = []

    def each_epoch(m: Module) -> dict[str, float]:
        if cfg.model.context_size == 2:  # the held-out codes, for the latent space epoch by epoch
            snapshots.append((len(snapshots) + 1, _codes(m, data.x_test)))
        return {}

    from enc2dec import config as config_module

    training = replace(cfg.training, progress=progress or cfg.training.progress)
    trainer = Trainer(
        model,
        training,
        out_dir=out_dir,
        evaluate=each_epoch,
        run_config=config_module.to_dict(cfg),
    )
    batcher = ArrayBatcher(data.x_train, data.x_train, batch_size=cfg.data.batch_size, seed=cfg.data.seed)
    valid = ArrayBatcher(data.x_test, data.x_test, batch_size=256, shuffle=False)
    history = trainer.fit(batcher, valid)
    model.eval()
    result = TrainResult(model, history, data, None, model.reconstruction_error(data.x_test), {}, snapshots)
    if out_dir is not None:
        out_dir = Path(out_dir)
        result.checkpoint_dir = out_dir / "last"
        result.pictures["loss"] = out_dir / "loss.png"
        if pictures:
            result.pictures.update(training_pictures(result, out_dir))
    return result


def training_pictures(result: TrainResult, out_dir: str | Path) -> dict[str, Path]:
    from enc2dec import plots

    out_dir, model, data = Path(out_dir), result.model, result.data
    found = {
        "reconstructions": plots.plot_reconstructions(
            data.x_test[:10], model.reconstruct(data.x_test[:10]), out_dir / "reconstructions.png"
        )
    }
    if result.latent_by_epoch:
        found["latent"] = plots.plot_codes(
            result.latent_by_epoch[-1][1], data.y_test, out_dir / "latent.png", title="held-out 2-D codes"
        )
        found["latent_epochs"] = plots.plot_latent_epochs(
            result.latent_by_epoch, data.y_test, out_dir / "latent_epochs.png"
        )
    return found


def load_model(path: str | Path) -> tuple[Module, AutoencoderRunConfig]:
    """A trained model from a checkpoint directory (or a run folder holding last/): config.yaml + safetensors."""
    from enc2dec import config as config_module

    path = Path(path)
    if not (path / checkpoint.MODEL_FILE).is_file() and (path / "last" / checkpoint.MODEL_FILE).is_file():
        path = path / "last"
    config_path = path / checkpoint.CONFIG_FILE
    if not config_path.is_file():
        raise FileNotFoundError(f"{path}: not an autoencoder checkpoint (no {checkpoint.CONFIG_FILE})")
    cfg = config_module.from_dict(AutoencoderRunConfig, checkpoint.load_yaml(config_path), str(config_path))
    model = build_autoencoder(cfg.model, rng=np.random.default_rng(cfg.training.seed))
    checkpoint.load_weights(path, model)
    model.eval()
    return model, cfg


def _as_model(model_or_path: Module | str | Path) -> Module:
    return model_or_path if isinstance(model_or_path, Module) else load_model(model_or_path)[0]


def _rows(name: str, x: Any, width: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != width:
        raise ValueError(f"{name} must have shape (N, {width}), got {x.shape}")
    return x


def encode(model: Module | str | Path, x: Any) -> np.ndarray:
    """x: (N, n_in) -> codes: (N, C) (a VAE's posterior means)."""
    model = _as_model(model)
    return _codes(model, _rows("encode: x", x, model.config.input_size))


def decode(model: Module | str | Path, codes: Any) -> np.ndarray:
    """codes: (N, C) -> images: (N, n_in) in data space."""
    model = _as_model(model)
    return model.decode_mean(_rows("decode: codes", codes, model.config.context_size))


def sample(model: Module | str | Path, n: int, *, seed: int = 0) -> np.ndarray:
    """n draws from a VAE's prior, decoded: (n, n_in)."""
    model = _as_model(model)
    if not hasattr(model, "sample"):
        raise ValueError(f"sample: needs a VAE (model.kind 'vae'), got {type(model).__name__}")
    return model.sample(n, rng=np.random.default_rng(seed))


def sweep(
    cfg: AutoencoderRunConfig,
    sizes: list[int],
    out_dir: str | Path | None = None,
    *,
    data: Split | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Train one model per context size and fit PCA with as many components; compare held-out reconstruction MSE.

    Returns {"rows": [{context_size, ae_mse, pca_mse, ratio}, ...], "runs": {size: TrainResult}}; with out_dir
    also sweep.json, sweep.png and each size's run in out_dir/c<size>.
    """
    from sklearn.decomposition import PCA

    if not sizes or any(int(c) < 1 for c in sizes):
        raise ValueError(f"sweep: sizes must be positive integers, got {sizes}")
    data = load_data(cfg.data) if data is None else data
    _check_width(cfg, data)
    rows, runs = [], {}
    for c in sizes:
        run_cfg = replace(cfg, model=replace(cfg.model, context_size=int(c)))
        run_dir = None if out_dir is None else Path(out_dir) / f"c{c}"
        result = train(run_cfg, run_dir, data=data, progress=progress)
        pca = PCA(n_components=min(int(c), *data.x_train.shape), random_state=cfg.data.seed).fit(data.x_train)
        pca_mse = float(np.mean((pca.inverse_transform(pca.transform(data.x_test)) - data.x_test) ** 2))
        rows.append(
            {"context_size": int(c), "ae_mse": result.test_mse, "pca_mse": pca_mse, "ratio": result.test_mse / pca_mse}
        )
        runs[int(c)] = result
        log.info("sweep: %s", rows[-1])
    if out_dir is not None:
        from enc2dec import plots

        checkpoint.save_json(Path(out_dir) / "sweep.json", rows)
        plots.plot_sweep(rows, Path(out_dir) / "sweep.png")
    return {"rows": rows, "runs": runs}
