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
