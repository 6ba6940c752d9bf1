"""Bad input names the layer, the argument, and the expected versus actual shape or dtype."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.layers import Embedding, LayerNorm, Linear, Sigmoid
from enc2dec.losses import MSE, CrossEntropy, GaussianKL


def test_linear_wrong_shape():
    with pytest.raises(ValueError, match=r"Linear\(3 -> 2\): x must have shape \(\.\.\., 3\), got \(4, 5\)"):
        Linear(3, 2, rng=np.random.default_rng(0)).forward(np.zeros((4, 5), np.float32))


def test_linear_wrong_dtype():
    layer = Linear(3, 2, rng=np.random.default_rng(0))
    with pytest.raises(
        TypeError, match=r"Linear\(3 -> 2\): x must have dtype float32 like the parameters, got float64"
    ):
        layer.forward(np.zeros((4, 3)))
    with pytest.raises(TypeError, match=r"Linear\(3 -> 2\): x must be a float array, got dtype int64"):
        layer.forward(np.zeros((4, 3), np.int64))
    with pytest.raises(TypeError, match=r"x must be a numpy array, got list"):
        layer.forward([[1.0, 2.0, 3.0]])


def test_layer_norm_wrong_shape():
    with pytest.raises(ValueError, match=r"LayerNorm\(5\): x must have shape \(\.\.\., 5\), got \(2, 4\)"):
        LayerNorm(5).forward(np.zeros((2, 4), np.float32))


def test_embedding_bad_ids():
    emb = Embedding(7, 3, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"Embedding\(7, 3\): ids must be in \[0, 7\), got \[0, 9\]"):
        emb.forward(np.array([0, 9]))
    with pytest.raises(TypeError, match=r"Embedding\(7, 3\): ids must be an integer array, got float32"):
        emb.forward(np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="padding_idx must be in"):
        Embedding(7, 3, rng=np.random.default_rng(0), padding_idx=7)


def test_activation_rejects_integers():
    with pytest.raises(TypeError, match=r"Sigmoid\(\): x must be a float array"):
        Sigmoid().forward(np.arange(3))


def test_loss_shape_errors():
    with pytest.raises(ValueError, match=r"MSE\(reduction='mean'\): target must have the prediction's shape \(2, 3\)"):
        MSE().forward(np.zeros((2, 3), np.float32), np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match=r"target must have shape \(4,\) for logits \(4, 5\), got \(5,\)"):
        CrossEntropy().forward(np.zeros((4, 5), np.float32), np.zeros(5, np.int64))
    with pytest.raises(ValueError, match=r"target ids must be in \[0, 5\), got \[0, 5\]"):
        CrossEntropy().forward(np.zeros((2, 5), np.float32), np.array([0, 5]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        GaussianKL("none")
