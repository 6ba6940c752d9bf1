"""Pictures (PNG, matplotlib imported lazily with the non-interactive Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path


def plot_history(history: Any, path: str | Path, title: str = "training loss") -> Path:
    """The per-step training loss (raw and smoothed) and, where evaluated, the validation loss by step."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    loss = np.asarray(history.train_loss, dtype=np.float64)
    steps = np.arange(1, len(loss) + 1)
    if len(loss):
        ax.plot(steps, loss, alpha=0.3, color="C0", label="train (per step)")
        k = max(len(loss) // 50, 1)
        smooth = np.convolve(loss, np.ones(k) / k, mode="valid")
        ax.plot(steps[k - 1 :], smooth, color="C0", label=f"train (mean of {k})")
    valid = [(e["step"], e["valid_loss"]) for e in history.evals if "valid_loss" in e]
    if valid:
        ax.plot(*zip(*valid), "o-", color="C1", label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if len(loss) and loss.min() > 0 and loss.max() / max(loss.min(), 1e-12) > 20:
        ax.set_yscale("log")
    ax.set_title(title)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    return _save(fig, path)


def plot_codes(codes: np.ndarray, labels: np.ndarray, path: str | Path, title: str = "2-D context vectors") -> Path:
    """codes: (N, 2) scattered, coloured by integer label (N,)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 5))
    points = ax.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=6, alpha=0.8)
    fig.colorbar(points, ax=ax, ticks=np.unique(labels), label="class")
    ax.set_xlabel("context[0]")
    ax.set_ylabel("context[1]")
    ax.set_title(title)
    return _save(fig, path)


# -- the autoencoder family -------------------------------------------------------------------------------------
def _image_shape(n_in: int) -> tuple[int, int]:
    side = int(round(n_in**0.5))
    if side * side != n_in:
        raise ValueError(f"plots: rows must be square images (n_in a square number), got n_in={n_in}")
    return side, side


def _image_rows(ax_row: Any, images: np.ndarray, label: str) -> None:
    shape = _image_shape(images.shape[1])
    for j, ax in enumerate(ax_row):
        ax.imshow(np.clip(images[j].reshape(shape), 0, 1), cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    ax_row[0].set_ylabel(label)


def plot_image_rows(rows: dict[str, np.ndarray], path: str | Path, title: str = "") -> Path:
    """rows: label -> (n, n_in) images in [0, 1], the same n; one row each (originals beside reconstructions,
    noisy / denoised / clean)."""
    plt = _pyplot()
    n = min(len(images) for images in rows.values())
    fig, axes = plt.subplots(len(rows), n, figsize=(0.65 * n + 0.4, 0.7 * len(rows) + 0.4), squeeze=False)
    for ax_row, (label, images) in zip(axes, rows.items()):
        _image_rows(ax_row, images, label)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_reconstructions(originals: np.ndarray, reconstructions: np.ndarray, path: str | Path) -> Path:
    """originals, reconstructions: (n, n_in) -> two rows of images."""
    return plot_image_rows({"original": originals, "reconstruction": reconstructions}, path)


def plot_denoising(noisy: np.ndarray, denoised: np.ndarray, clean: np.ndarray, path: str | Path) -> Path:
    """noisy, denoised, clean: (n, n_in) -> three rows of images."""
    return plot_image_rows({"noisy": noisy, "denoised": denoised, "clean": clean}, path, "denoising autoencoder")


def plot_image_grid(images: np.ndarray, path: str | Path, n_cols: int = 8, title: str = "") -> Path:
    """images: (n, n_in) in [0, 1] -> a grid, n_cols wide (VAE samples, the latent manifold)."""
    plt = _pyplot()
    shape = _image_shape(images.shape[1])
    n_rows = -(-len(images) // n_cols)
    canvas = np.ones((n_rows * (shape[0] + 1), n_cols * (shape[1] + 1)), dtype=np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, n_cols)
        top, left = r * (shape[0] + 1), c * (shape[1] + 1)
        canvas[top : top + shape[0], left : left + shape[1]] = np.clip(image.reshape(shape), 0, 1)
    fig, ax = plt.subplots(figsize=(0.4 * n_cols + 0.4, 0.4 * n_rows + 0.6))
    ax.imshow(canvas, cmap="gray", vmin=0, vmax=1)
    ax.axis("off")
    if title:
        ax.set_title(title)
    return _save(fig, path)


def plot_manifold(decode: Any, path: str | Path, n: int = 12, span: float = 2.0) -> Path:
    """The 2-D latent manifold: decode(z (n*n, 2)) -> (n*n, n_in) images on a grid of codes at the standard
    normal's quantiles in [Phi(-span), Phi(span)], first code along columns, second down the rows."""
    from statistics import NormalDist

    qs = np.linspace(NormalDist().cdf(-span), NormalDist().cdf(span), n)
    values = np.array([NormalDist().inv_cdf(q) for q in qs], dtype=np.float32)
    z = np.stack(np.meshgrid(values, values[::-1]), axis=-1).reshape(-1, 2)  # (n*n, 2)
    return plot_image_grid(decode(z), path, n_cols=n, title="VAE: the 2-D latent manifold")


def plot_latent_epochs(
    snapshots: list[tuple[int, np.ndarray]], labels: np.ndarray, path: str | Path, n_panels: int = 12
) -> Path:
    """snapshots: (epoch, codes (N, 2)) per epoch -> a grid of scatter plots, up to n_panels evenly spaced epochs
    (the last always shown), so one can watch the latent space form."""
    plt = _pyplot()
    pick = np.unique(np.linspace(0, len(snapshots) - 1, min(n_panels, len(snapshots))).round().astype(int))
    n_cols = min(4, len(pick))
    n_rows = -(-len(pick) // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(max(2.2 * n_cols, 5.0), 2.2 * n_rows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, pick):
        epoch, codes = snapshots[i]
        ax.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=2, alpha=0.7)
        ax.set_title(f"epoch {epoch}", fontsize=9)
    fig.suptitle("held-out 2-D codes by class, epoch by epoch")
    return _save(fig, path)


def plot_loss_curves(histories: dict[str, Any], path: str | Path, title: str = "training loss by epoch") -> Path:
    """histories: name -> History; each model's mean training loss per epoch (and held-out, dashed)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, (name, history) in enumerate(histories.items()):
        epochs = [e["epoch"] for e in history.evals]
        ax.plot(epochs, [e["train_loss"] for e in history.evals], color=f"C{i}", label=f"{name} (train)")
        valid = [e["valid_loss"] for e in history.evals if "valid_loss" in e]
        if len(valid) == len(epochs):
            ax.plot(epochs, valid, "--", color=f"C{i}", label=f"{name} (held out)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("each model's objective (AE: BCE per pixel; VAE: -ELBO per example)", fontsize=8)
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend(fontsize=7)
    return _save(fig, path)


def plot_sweep(rows: list[dict[str, float]], path: str | Path) -> Path:
    """rows: {context_size, ae_mse, pca_mse} -> held-out reconstruction MSE against the context size (log 2)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    sizes = [r["context_size"] for r in rows]
    ax.plot(sizes, [r["ae_mse"] for r in rows], "o-", label="autoencoder")
    ax.plot(sizes, [r["pca_mse"] for r in rows], "s-", label="PCA")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.set_xlabel("context (code) size")
    ax.set_ylabel("held-out reconstruction MSE")
    ax.set_title("the context-size study")
    ax.legend()
    return _save(fig, path)


# -- attention ----------------------------------------------------------------------------------------------------
def plot_attention(
    weights: np.ndarray, src_tokens: list[str], out_tokens: list[str], path: str | Path, title: str = ""
) -> Path:
    """weights: (n_out, n_src) attention of each output token (rows) over the source tokens (columns), as a
    grey-scale heat map like Bahdanau et al. (2015), figure 3."""
    n_out, n_src = weights.shape
    if (n_out, n_src) != (len(out_tokens), len(src_tokens)):
        raise ValueError(
            f"plot_attention: weights of shape {weights.shape} need {n_out} output and {n_src} source tokens, "
            f"got {len(out_tokens)} and {len(src_tokens)}"
        )
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.2 + 0.38 * n_src, 1.0 + 0.32 * n_out))
    image = ax.imshow(weights, cmap="gray_r", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(n_src), src_tokens, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n_out), out_tokens, fontsize=8)
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    if title:
        ax.set_title(title, fontsize=9)
    return _save(fig, path)


# -- forecasting --------------------------------------------------------------------------------------------------
def plot_forecasts(panels: list[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """One panel per forecast origin: "history" (x (L,), values (L,)); "x": the forecast steps (h,); "forecasts":
    name -> (h,); "truth" (x (k,), values (k,)), k <= h, the known values of those steps; "band": (lower (h,),
    upper (h,)) of the first forecast or None; "title". x: dates or step numbers."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.6 * len(panels) + 0.3), squeeze=False)
    for ax, panel in zip(axes[:, 0], panels):
        ax.plot(*panel["history"], color="0.35", lw=1, label="history (input)")
        if len(panel["truth"][0]):
            ax.plot(*panel["truth"], color="black", lw=1.4, label="truth")
        x = panel["x"]
        for i, (name, values) in enumerate(panel["forecasts"].items()):
            ax.plot(x, values, color=f"C{i}", lw=1.2, ls="-" if i == 0 else "--", label=name)
        if panel.get("band") is not None:
            ax.fill_between(x, *panel["band"], color="C0", alpha=0.2, lw=0, label="95 % band")
        ax.set_title(panel.get("title", ""), fontsize=9)
    axes[0, 0].legend(fontsize=7, ncol=3, loc="upper left")
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def plot_error_by_step(by_step: dict[str, np.ndarray], path: str | Path, title: str = "") -> Path:
    """by_step: method -> (h,) mean absolute error at each horizon step (1..h)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, (name, values) in enumerate(by_step.items()):
        ax.plot(np.arange(1, len(values) + 1), values, color=f"C{i}", label=name)
    ax.set_xlabel("horizon step")
    ax.set_ylabel("mean absolute error")
    ax.set_ylim(bottom=0)
    ax.set_title(title or "error by horizon step", fontsize=9)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_contexts(
    contexts: np.ndarray, colour: np.ndarray, path: str | Path, *, colour_label: str = "", title: str = "",
    cyclic: bool = False,
) -> Path:  # fmt: skip
    """contexts: (N, C) -> a scatter of the first two principal components (the contexts themselves when C = 2),
    coloured by a value per point (N,), with a cyclic colour map for a phase such as the week of the year."""
    plt = _pyplot()
    points = np.asarray(contexts, dtype=np.float64)
    if points.shape[1] > 2:
        centred = points - points.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        points, axis = centred @ vt[:2].T, "principal component"
    else:
        axis = "context"
    fig, ax = plt.subplots(figsize=(6, 5))
    dots = ax.scatter(points[:, 0], points[:, 1], c=colour, cmap="twilight" if cyclic else "viridis", s=8)
    fig.colorbar(dots, ax=ax, label=colour_label)
    ax.set_xlabel(f"{axis} 1")
    ax.set_ylabel(f"{axis} 2" if points.shape[1] > 1 else "")
    ax.set_title(title or "2-D projection of the context vectors", fontsize=9)
    return _save(fig, path)
