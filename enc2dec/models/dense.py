"""Dense encoder-decoders: an encoder stack maps x to a context vector, a decoder stack maps it back.

Training back-propagates through the decoder, takes the gradient at the decoder's input as the context's
gradient (the "context delta"), and back-propagates that through the encoder: see `EncoderDecoder.backward`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from enc2dec.layers import Linear, Sequential, activation
from enc2dec.layers.activations import ACTIVATIONS
from enc2dec.losses import MSE, BCEWithLogits
from enc2dec.nn.checks import check_int_field
from enc2dec.nn.functional import sigmoid
from enc2dec.nn.module import Module


@dataclass(frozen=True)
class DenseConfig:
    """A mirrored MLP: input -> hidden_sizes -> context -> reversed(hidden_sizes) -> input."""

    input_size: int
    context_size: int = 2
    hidden_sizes: tuple[int, ...] = (128,)
    activation: str = "tanh"
    context_activation: str | None = None  # None: a linear code, as PCA's
    # "mse": linear output, squared error; "bce": logits scored by binary cross-entropy (inputs in [0, 1])
    loss: str = "mse"

    def __post_init__(self) -> None:
        where = type(self).__name__
        if self.loss not in ("mse", "bce"):
            raise ValueError(f"{where}.loss must be 'mse' or 'bce', got {self.loss!r}")
        for name in ("input_size", "context_size"):
            check_int_field(where, name, getattr(self, name), 1)
        for i, size in enumerate(self.hidden_sizes):
            check_int_field(where, f"hidden_sizes[{i}]", size, 1)
        for name in ("activation", "context_activation"):
            value = getattr(self, name)
            if value not in ACTIVATIONS and not (value is None and name == "context_activation"):
                raise ValueError(f"{where}.{name} must be one of {sorted(ACTIVATIONS)}, got {value!r}")


def mlp(sizes: list[int], hidden_activation: str, final_activation: str | None, rng: np.random.Generator) -> Sequential:
    """Linear layers between consecutive sizes, `hidden_activation` after each but the last."""
    layers: list[Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(n_in, n_out, rng=rng))
        last = i == len(sizes) - 2
        name = final_activation if last else hidden_activation
        if name is not None:
            layers.append(activation(name))
    return Sequential(*layers)


class EncoderDecoder(Module):
    """x: (B, n_in) -> context: (B, C) -> y: (B, n_out). Any encoder and decoder modules of matching sizes."""

    def __init__(self, encoder: Module, decoder: Module, loss: Module | None = None):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.loss = loss if loss is not None else MSE()

    @classmethod
    def from_config(cls, config: DenseConfig, *, rng: np.random.Generator) -> EncoderDecoder:
        sizes = [config.input_size, *config.hidden_sizes, config.context_size]
        encoder = mlp(sizes, config.activation, config.context_activation, rng)
        decoder = mlp(sizes[::-1], config.activation, None, rng)
        model = cls(encoder, decoder, MSE() if config.loss == "mse" else BCEWithLogits())
        model.config = config
        return model

    def encode(self, x: np.ndarray) -> np.ndarray:
        """x: (B, n_in) -> context: (B, C)."""
        return self.encoder.forward(x)

    def decode(self, context: np.ndarray) -> np.ndarray:
        """context: (B, C) -> y: (B, n_out) (logits when the loss is binary cross-entropy)."""
        return self.decoder.forward(context)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.decode(self.encode(x))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        d_context = self.decoder.backward(dy)  # the context delta: the gradient at the decoder's input
        return self.encoder.backward(d_context)

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        """The output in data space (sigmoid of the logits for a BCE model); no cache kept."""
        y = self.forward(x)
        self.clear_cache()
        return sigmoid(y) if isinstance(self.loss, BCEWithLogits) else y

    # -- the trainer's protocol ---------------------------------------------------------------------------------
    def compute_loss(self, batch: tuple[np.ndarray, np.ndarray]) -> tuple[float, int]:
        """batch: (x (B, n_in), target (B, n_out)) -> (mean loss, B); caches for `backward_loss`."""
        x, target = batch
        loss = self.loss.forward(self.forward(x), target)
        return float(loss), len(x)

    def backward_loss(self) -> None:
        self.backward(self.loss.backward())
