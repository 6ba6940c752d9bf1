"""Bad input names the layer, the argument, and the expected versus actual shape, dtype or range."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.recurrent import GRU, LSTM, RNN, Bidirectional, Stacked

RNG = np.random.default_rng(0)


def _x(*shape, dtype=np.float32):
    return np.zeros(shape, dtype=dtype)


def test_x_wrong_shape():
    with pytest.raises(ValueError, match=r"LSTM\(5 -> 4\): x must have shape \(T, B, 5\), got \(3, 2, 6\)"):
        LSTM(5, 4, rng=RNG).forward(_x(3, 2, 6))
    with pytest.raises(ValueError, match=r"GRU\(5 -> 4\): x must have shape \(T, B, 5\), got \(2, 5\)"):
        GRU(5, 4, rng=RNG).forward(_x(2, 5))


def test_x_wrong_dtype():
    with pytest.raises(TypeError, match=r"RNN\(5 -> 4\): x must have dtype float32 like the parameters, got float64"):
        RNN(5, 4, rng=RNG).forward(_x(3, 2, 5, dtype=np.float64))
    with pytest.raises(TypeError, match=r"RNN\(5 -> 4\): x must be a float array, got dtype int64"):
        RNN(5, 4, rng=RNG).forward(_x(3, 2, 5, dtype=np.int64))


def test_lengths_wrong_type_shape_and_range():
    lstm = LSTM(5, 4, rng=RNG)
    with pytest.raises(TypeError, match=r"LSTM\(5 -> 4\): lengths must be an integer array, got float32"):
        lstm.forward(_x(3, 2, 5), np.array([3, 1], np.float32))
    with pytest.raises(ValueError, match=r"LSTM\(5 -> 4\): lengths must have shape \(2,\), got \(3,\)"):
        lstm.forward(_x(3, 2, 5), np.array([3, 1, 2]))
    with pytest.raises(ValueError, match=r"LSTM\(5 -> 4\): lengths must be in \[0, 3\], got \[1, 4\]"):
        lstm.forward(_x(3, 2, 5), np.array([4, 1]))
    with pytest.raises(ValueError, match=r"lengths must be in \[0, 3\], got \[-1, 2\]"):
        lstm.forward(_x(3, 2, 5), np.array([-1, 2]))


def test_state_wrong_shape_dtype_or_form():
    with pytest.raises(ValueError, match=r"GRU\(5 -> 4\): state h must have shape \(2, 4\), got \(2, 3\)"):
        GRU(5, 4, rng=RNG).forward(_x(3, 2, 5), None, _x(2, 3))
    with pytest.raises(TypeError, match=r"RNN\(5 -> 4\): state h must have dtype float32 like the parameters"):
        RNN(5, 4, rng=RNG).forward(_x(3, 2, 5), None, _x(2, 4, dtype=np.float64))
    lstm = LSTM(5, 4, rng=RNG)
    with pytest.raises(TypeError, match=r"LSTM\(5 -> 4\): state must be a pair \(h, c\), got ndarray"):
        lstm.forward(_x(3, 2, 5), None, _x(2, 4))
    with pytest.raises(ValueError, match=r"LSTM\(5 -> 4\): state c must have shape \(2, 4\), got \(1, 4\)"):
        lstm.forward(_x(3, 2, 5), None, (_x(2, 4), _x(1, 4)))


def test_step_wrong_shape():
    with pytest.raises(ValueError, match=r"LSTM\(5 -> 4\): x_t must have shape \(B, 5\), got \(1, 2, 5\)"):
        LSTM(5, 4, rng=RNG).step(_x(1, 2, 5))
    with pytest.raises(ValueError, match=r"LSTM\(5 -> 4\): state h must have shape \(2, 4\), got \(3, 4\)"):
        LSTM(5, 4, rng=RNG).step(_x(2, 5), (_x(3, 4), _x(3, 4)))


def test_backward_wrong_shapes_and_without_forward():
    rnn = RNN(5, 4, rng=RNG)
    with pytest.raises(RuntimeError, match=r"RNN\(5 -> 4\): backward called without a preceding forward"):
        rnn.backward(_x(3, 2, 4))
    rnn.forward(_x(3, 2, 5))
    with pytest.raises(ValueError, match=r"RNN\(5 -> 4\): dh_seq must have shape \(3, 2, 4\), got \(3, 2, 5\)"):
        rnn.backward(_x(3, 2, 5))
    lstm = LSTM(5, 4, rng=RNG)
    lstm.forward(_x(3, 2, 5))
    with pytest.raises(ValueError, match=r"LSTM\(5 -> 4\): d_final c must have shape \(2, 4\), got \(4,\)"):
        lstm.backward(None, (_x(2, 4), _x(4)))


def test_constructor_arguments():
    with pytest.raises(ValueError, match=r"LSTM: w_h_init must be one of \('uniform', 'orthogonal'\), got 'ortho'"):
        LSTM(5, 4, rng=RNG, w_h_init="ortho")
    with pytest.raises(ValueError, match=r"GRU: input_size and hidden_size must be >= 1, got 5 and 0"):
        GRU(5, 0, rng=RNG)
    with pytest.raises(ValueError, match=r"Stacked: cell must be one of \['gru', 'lstm', 'rnn'\], got 'lsmt'"):
        Stacked("lsmt", 5, 4, 2, rng=RNG)
    with pytest.raises(ValueError, match=r"Stacked: n_layers must be >= 1, got 0"):
        Stacked("lstm", 5, 4, 0, rng=RNG)
    with pytest.raises(ValueError, match=r"Bidirectional: both directions need the same kind and size of layer"):
        Bidirectional(LSTM(5, 4, rng=RNG), GRU(5, 4, rng=RNG))


def test_stacked_errors():
    stack = Stacked("lstm", 5, 4, 2, rng=RNG)
    with pytest.raises(ValueError, match=r"Stacked\(lstm, 5 -> 4, n_layers=2\): x must have shape \(T, B, 5\)"):
        stack.forward(_x(3, 2, 4))
    with pytest.raises(
        ValueError, match=r"Stacked\(lstm, 5 -> 4, n_layers=2\): state h must have shape \(2, 2, 4\), got \(2, 4\)"
    ):
        stack.forward(_x(3, 2, 5), None, (_x(2, 4), _x(2, 4)))
    with pytest.raises(ValueError, match=r"Stacked\(lstm, 5 -> 4, n_layers=2\): x_t must have shape \(B, 5\)"):
        stack.step(_x(2, 4))
    bi = Stacked("gru", 5, 4, 1, bidirectional=True, rng=RNG)
    with pytest.raises(ValueError, match=r"step needs a unidirectional stack"):
        bi.step(_x(2, 5))
    with pytest.raises(ValueError, match=r"state h must have shape \(2, 2, 4\), got \(1, 2, 4\)"):
        bi.forward(_x(3, 2, 5), None, _x(1, 2, 4))


def test_bidirectional_errors():
    bi = Bidirectional(RNN(5, 4, rng=RNG), RNN(5, 4, rng=RNG))
    with pytest.raises(
        ValueError, match=r"Bidirectional\(RNN\(5 -> 4\)\): x must have shape \(T, B, 5\), got \(3, 2, 4\)"
    ):
        bi.forward(_x(3, 2, 4))
    with pytest.raises(ValueError, match=r"Bidirectional\(RNN\(5 -> 4\)\): lengths must be in \[0, 3\], got \[1, 9\]"):
        bi.forward(_x(3, 2, 5), np.array([9, 1]))
