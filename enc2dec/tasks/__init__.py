"""Tasks: translation, autoencoders, forecasting and the sequence autoencoder behind one protocol (base.Task),
with one model registry (registry.py). enc2dec.run makes runs of them; the CLI calls enc2dec.run."""

from __future__ import annotations

from enc2dec.tasks.base import Task

TASK_NAMES = ("translation", "autoencoder", "forecast", "series_autoencoder")


def task_class(name: str) -> type[Task]:
    """The Task class called `name` (imported on demand: each task pulls in its own data code)."""
    if name == "translation":
        from enc2dec.tasks.translation import TranslationTask as cls
    elif name == "autoencoder":
        from enc2dec.tasks.autoencoder import AutoencoderTask as cls
    elif name == "forecast":
        from enc2dec.tasks.forecast import ForecastTask as cls
    elif name == "series_autoencoder":
        from enc2dec.tasks.series_autoencoder import SeriesAutoencoderTask as cls
    else:
        raise ValueError(f"task must be one of {list(TASK_NAMES)}, got {name!r}")
    return cls
