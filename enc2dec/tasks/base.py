"""The task protocol: what the run module (enc2dec.run) needs of translation, autoencoders and forecasting.

A task reads its data as train / valid / test (a validation split is mandatory: where a data set has none, the
task carves it from the training data with the config's seed and reports the sizes), builds its model from the
registry (enc2dec.tasks.registry), names the files a checkpoint holds beside the weights (vocabularies, a scale),
scores a model on a named split, and loads a saved model with what it needs to be used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

from enc2dec.nn.module import Module

Writer = Callable[[Path], None]  # writes one file of a checkpoint to the path it is given


class Task:
    """A task with its run config (`config_class`: task, model, data, training and the task's own sections)."""

    name: ClassVar[str]
    config_class: ClassVar[type]

    def __init__(self, config: Any):
        self.config = config

    # -- what training needs ----------------------------------------------------------------------------------------
    def metrics(self) -> dict[str, str]:
        """The validation metrics each evaluation records besides valid_loss, each with its better direction
        ("min" or "max"); `training.best_metric` must be one of them or valid_loss."""
        return {}

    def compute_limits(self) -> Any:
        """A context manager around training and evaluation, e.g. one BLAS thread where small products dominate."""
        import contextlib

        return contextlib.nullcontext()

    def load_data(self) -> Any:
        """The data with its train, valid and test parts (and what the model needs of it, e.g. vocabularies)."""
        raise NotImplementedError

    def split_sizes(self, data: Any) -> dict[str, Any]:
        """{"train": n, "valid": n, "test": n, ...}: recorded in the run folder."""
        raise NotImplementedError

    def build_model(self, data: Any) -> Module:
        raise NotImplementedError

    def batches(self, data: Any) -> tuple[Any, Iterable[Any]]:
        """(the training batcher, the validation batches for valid_loss)."""
        raise NotImplementedError

    def validate(self, model: Module, data: Any, comm: Any) -> dict[str, float]:
        """The metrics of `metrics()` on the validation split, at each evaluation. Called on every rank of comm
        (enc2dec.training.distributed) so that the work can be shared; rank 0's metrics count."""
        return {}

    def model_files(self, data: Any) -> dict[str, Writer]:
        """Files a checkpoint holds besides weights, optimizer, config and trainer state (name -> writer)."""
        return {}

    def report(self, model: Module, data: Any, out_dir: Path) -> dict[str, Path]:
        """Pictures of the trained (best) model on the validation split, written into the run folder."""
        return {}

    # -- what a saved model needs ---------------------------------------------------------------------------------
    def load(self, model_dir: Path) -> Any:
        """The object a user calls (a Translator, a TrainedForecaster, the autoencoder itself) with the weights of
        checkpoint folder `model_dir`, in eval mode; its `.model` (or itself) is the Module."""
        raise NotImplementedError

    def evaluate(
        self, trained: Any, split: str, out_dir: Path | None, comm: Any, **options: Any
    ) -> dict[str, Any] | None:
        """Scores of a trained model on `split` (valid or test) of its configured data; with out_dir, the task's
        pictures of it there. Called on every rank of comm: rank 0 returns the scores, the others None (a task
        may share the work among them). options: a translation model's decoding options (no other task takes
        any)."""
        raise NotImplementedError
