"""`apply`, the decoding steps' forward: the same output as forward in evaluation mode, and nothing cached."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.layers import GELU, Dropout, LayerNorm, Linear, ReLU, Sequential

RNG = np.random.default_rng(0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: LayerNorm(6),
        lambda: ReLU(),
        lambda: GELU(),
        lambda: Dropout(0.5, rng=np.random.default_rng(1)),
        lambda: Sequential(Linear(6, 5, rng=RNG), ReLU(), Dropout(0.3, rng=RNG), Linear(5, 6, rng=RNG)),
    ],
    ids=["layernorm", "relu", "gelu", "dropout", "sequential"],
)
def test_apply_is_forward_without_a_cache(make):
    layer = make().eval()
    if isinstance(layer, LayerNorm):  # not the identity's parameters
        layer.weight.value[:] = RNG.standard_normal(6, dtype=np.float32)
        layer.bias.value[:] = RNG.standard_normal(6, dtype=np.float32)
    x = RNG.standard_normal((3, 4, 6), dtype=np.float32)
    x[0, 0, :2] = 0.0  # ReLU's kink
    expected = layer.forward(x.copy())
    layer.clear_cache()
    before = x.copy()
    y = layer.apply(x)
    assert np.array_equal(y, expected) and y.dtype == expected.dtype
    assert np.array_equal(x, before)  # the input is not changed in place
    assert all(m._cache is None for m in layer.modules())
