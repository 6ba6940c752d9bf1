"""The worked example: input 3 -> sigmoid context 2 -> sigmoid output 3, trained by back-propagating the
decoder's input gradient (the context delta) through the encoder."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.data.arrays import ArrayBatcher
from enc2dec.models.dense import DenseConfig, EncoderDecoder
from enc2dec.nn import gradcheck
from enc2dec.training import TrainConfig, Trainer
from tests.models.gradcases import worked_example


def _example_with_given_weights() -> EncoderDecoder:
    model = worked_example(np.random.default_rng(0))
    enc, dec = model.encoder[0], model.decoder[0]
    # Weights as the example writes them (out x in); Linear stores (in, out).
    enc.weight.value = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], dtype=np.float32).T
    enc.bias.value = np.array([0.1, -0.1], dtype=np.float32)
    dec.weight.value = np.array([[0.7, 0.8], [0.9, 1.0], [1.1, 1.2]], dtype=np.float32).T
    dec.bias.value = np.array([0.0, 0.1, -0.1], dtype=np.float32)
    return model


def test_context_vector_shape_and_range():
    model = _example_with_given_weights()
    x = np.array([[1.0, 0.5, -1.0], [0.2, 0.3, 0.4]], dtype=np.float32)
    context = model.encode(x)
    assert context.shape == (2, 2)
    assert np.all((context > 0) & (context < 1))
    # By hand: sigmoid(W x + b) for the first row.
    z = np.array([0.1 * 1 + 0.2 * 0.5 + 0.3 * -1 + 0.1, 0.4 * 1 + 0.5 * 0.5 + 0.6 * -1 - 0.1])
    np.testing.assert_allclose(context[0], 1 / (1 + np.exp(-z)), rtol=1e-6)
    assert model.decode(context).shape == (2, 3)


def test_single_vector_context_has_shape_2():
    model = _example_with_given_weights()
    assert model.encode(np.array([1.0, 0.5, -1.0], dtype=np.float32)).shape == (2,)


def test_backward_is_decoder_then_context_delta_then_encoder():
    model = _example_with_given_weights()
    x = np.array([[1.0, 0.5, -1.0]], dtype=np.float32)
    dy = np.array([[0.3, -0.2, 0.1]], dtype=np.float32)
    model.forward(x)
    dx = model.backward(dy)
    model.zero_grad()
    context = model.encoder.forward(x)
    model.decoder.forward(context)
    d_context = model.decoder.backward(dy)
    np.testing.assert_allclose(model.encoder.backward(d_context), dx, rtol=1e-6)


def test_worked_example_passes_gradcheck():
    gradcheck(_example_with_given_weights(), [np.random.default_rng(1).standard_normal((5, 3))])


def test_training_lowers_loss_tenfold():
    rng = np.random.default_rng(0)
    x = rng.uniform(0.1, 0.9, (64, 2)).astype(np.float32)
    data = np.concatenate([x, x.mean(axis=1, keepdims=True)], axis=1)  # 3 features on a 2-D manifold
    model = worked_example(np.random.default_rng(0))
    config = TrainConfig(optimizer="adam", lr=0.05, max_steps=1500, clip_norm=None)
    history = Trainer(model, config).fit(ArrayBatcher(data, data, batch_size=16, seed=0))
    first, last = np.mean(history.train_loss[:4]), np.mean(history.train_loss[-4:])
    assert last < first / 10, (first, last)


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="DenseConfig.loss must be 'mse' or 'bce'"):
        DenseConfig(input_size=3, loss="l1")
