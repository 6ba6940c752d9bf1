"""RNN, LSTM, GRU, stacks and bidirectional layers against torch.nn.RNN/LSTM/GRU given the same weights (float64).

Weights are transposed ((E, G*H) here, (G*H, E) there); LSTM gate blocks are permuted from i, f, o, g to PyTorch's
i, f, g, o; the fused bias goes to bias_ih with bias_hh zero, except the GRU's bias_hn, which is bias_hh's n block.
Unequal lengths go through packed sequences, whose semantics (final state at each sequence's own last step, the
reverse direction read within each length, zero outputs at padding) are the ones implemented here.
"""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.recurrent import CELLS, Stacked

torch = pytest.importorskip("torch")
pack = torch.nn.utils.rnn.pack_padded_sequence
unpack = torch.nn.utils.rnn.pad_packed_sequence

TORCH = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
E, H = 5, 4


def _gate_order(cell: str) -> np.ndarray:
    """Columns of our fused weights in PyTorch's gate order."""
    blocks = {"rnn": [0], "lstm": [0, 1, 3, 2], "gru": [0, 1, 2]}[cell]
    return np.concatenate([np.arange(b * H, (b + 1) * H) for b in blocks])


def _directions(module) -> list:
    """(PyTorch parameter suffix, our layer) for every layer and direction."""
    if not isinstance(module, Stacked):
        return [("_l0", module)]
    pairs = []
    for i, block in enumerate(module.layers):
        if module.bidirectional:
            pairs += [(f"_l{i}", block.forward_layer), (f"_l{i}_reverse", block.reverse_layer)]
        else:
            pairs.append((f"_l{i}", block))
    return pairs


def _torch_twin(cell: str, module, n_layers: int, bidirectional: bool):
    twin = TORCH[cell](E, H, num_layers=n_layers, bidirectional=bidirectional, dtype=torch.float64)
    idx = _gate_order(cell)
    params = dict(twin.named_parameters())
    with torch.no_grad():
        for suffix, layer in _directions(module):
            params[f"weight_ih{suffix}"].copy_(torch.tensor(layer.w_x.value[:, idx].T))
            params[f"weight_hh{suffix}"].copy_(torch.tensor(layer.w_h.value[:, idx].T))
            params[f"bias_ih{suffix}"].copy_(torch.tensor(layer.bias.value[idx]))
            params[f"bias_hh{suffix}"].zero_()
            if cell == "gru":
                params[f"bias_hh{suffix}"][2 * H :] = torch.tensor(layer.bias_hn.value)
    return twin, params


def _check(ours, theirs):
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-9, atol=1e-11)


def _run_both(cell, module, n_layers, bidirectional, lengths, with_state, seed=0):
    rng = np.random.default_rng(seed)
    module.astype(np.float64).zero_grad()
    twin, params = _torch_twin(cell, module, n_layers, bidirectional)
    T, B = 6, 3
    x = rng.standard_normal((T, B, E))
    n_states = n_layers * (2 if bidirectional else 1)
    h0 = rng.standard_normal((n_states, B, H))
    c0 = rng.standard_normal((n_states, B, H))
    initial = (h0, c0) if cell == "lstm" else (h0,)
    stacked = isinstance(module, Stacked)

    def ours_state(*arrays):  # h or (h, c); a bare layer takes (B, H), a stack (L*D, B, H)
        arrays = tuple(a if stacked else a[0] for a in arrays)
        return arrays if cell == "lstm" else arrays[0]

    # PyTorch
    xt = torch.tensor(x, requires_grad=True)
    h0t, c0t = torch.tensor(h0, requires_grad=True), torch.tensor(c0, requires_grad=True)
    inp = xt if lengths is None else pack(xt, torch.tensor(lengths), enforce_sorted=False)
    state_t = (h0t, c0t) if cell == "lstm" else h0t
    out, final_t = twin(inp, state_t if with_state else None)
    y_t = out if lengths is None else unpack(out, total_length=T)[0]
    finals_t = final_t if cell == "lstm" else (final_t,)

    # ours
    y, final = module.forward(x, lengths, ours_state(*initial) if with_state else None)
    finals = final if cell == "lstm" else (final,)
    _check(y, y_t)
    for f, f_t in zip(finals, finals_t):
        _check(f if stacked else f[None], f_t)

    dy = rng.standard_normal(y.shape)
    d_finals = [rng.standard_normal(f_t.shape) for f_t in finals_t]
    loss = (y_t * torch.tensor(dy)).sum() + sum((f * torch.tensor(d)).sum() for f, d in zip(finals_t, d_finals))
    loss.backward()
    d_final = ours_state(*d_finals)
    out = module.backward(dy, d_final)
    dx, d_state = out if with_state else (out, None)
    _check(dx, xt.grad)
    if with_state:
        for d, d_t in zip(d_state if cell == "lstm" else (d_state,), (h0t.grad, c0t.grad)):
            _check(d if stacked else d[None], d_t)

    idx = _gate_order(cell)
    for suffix, layer in _directions(module):
        _check(layer.w_x.grad[:, idx], params[f"weight_ih{suffix}"].grad.T)
        _check(layer.w_h.grad[:, idx], params[f"weight_hh{suffix}"].grad.T)
        _check(layer.bias.grad[idx], params[f"bias_ih{suffix}"].grad)
        if cell == "gru":
            _check(layer.bias_hn.grad, params[f"bias_hh{suffix}"].grad[2 * H :])


@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("cell", sorted(CELLS))
def test_layer_padded(cell, with_state):
    layer = CELLS[cell](E, H, rng=np.random.default_rng(0))
    _run_both(cell, layer, 1, False, np.array([6, 2, 4]), with_state)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_layer_equal_lengths(cell):
    layer = CELLS[cell](E, H, rng=np.random.default_rng(1))
    _run_both(cell, layer, 1, False, None, True, seed=1)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_stacked_bidirectional_padded(cell):
    stack = Stacked(cell, E, H, 2, bidirectional=True, rng=np.random.default_rng(2))
    _run_both(cell, stack, 2, True, np.array([3, 6, 1]), True, seed=2)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_stacked_three_layers(cell):
    stack = Stacked(cell, E, H, 3, rng=np.random.default_rng(3))
    _run_both(cell, stack, 3, False, np.array([5, 6, 2]), True, seed=3)
    _run_both(cell, stack, 3, False, None, False, seed=4)


def test_bidirectional_single_layer_equal_lengths():
    stack = Stacked("lstm", E, H, 1, bidirectional=True, rng=np.random.default_rng(5))
    _run_both("lstm", stack, 1, True, None, False, seed=5)
