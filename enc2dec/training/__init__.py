"""Training: the model-agnostic Trainer, checkpoints and metrics."""

from enc2dec.training.trainer import History, TrainConfig, Trainer, evaluate_loss

__all__ = ["History", "TrainConfig", "Trainer", "evaluate_loss"]
