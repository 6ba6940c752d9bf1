"""Layers with explicit forward and backward."""

from enc2dec.layers.activations import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh, activation
from enc2dec.layers.dropout import Dropout
from enc2dec.layers.embedding import Embedding, TiedOutput, share_table
from enc2dec.layers.linear import Linear
from enc2dec.layers.norm import LayerNorm
from enc2dec.layers.sequential import Sequential

__all__ = [
    "GELU",
    "Dropout",
    "Embedding",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "TiedOutput",
    "activation",
    "share_table",
]
