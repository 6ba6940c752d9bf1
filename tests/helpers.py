"""Small shared test helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def randn(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def away_from_zero(rng: np.random.Generator, *shape: int, margin: float = 0.1) -> np.ndarray:
    """Random values with |x| >= margin: keeps finite differences off the kink of ReLU-like functions."""
    x = randn(rng, *shape)
    return (np.sign(x) * (np.abs(x) + margin)).astype(np.float32)


AE_TYPES = {"plain": "autoencoder", "denoising": "denoising_autoencoder", "sparse": "sparse_autoencoder",
            "contractive": "contractive_autoencoder", "vae": "vae"}  # fmt: skip


def build_autoencoder(kind: str, rng: np.random.Generator, **fields):
    """A dense autoencoder of the registry's type for `kind` (plain, denoising, sparse, contractive, vae)."""
    from enc2dec.tasks.registry import model_types

    t = model_types()[AE_TYPES[kind]]
    return t.model.from_config(t.config(**fields), rng=rng)
