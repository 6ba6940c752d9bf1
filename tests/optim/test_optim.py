from __future__ import annotations

import numpy as np
import pytest

from enc2dec.nn import Parameter
from enc2dec.optim import SGD, Adam, AdamW, Constant, Cosine, StepDecay, WarmupInverseSqrt, clip_grad_norm


def _quadratic(opt_factory, steps=200):
    """Minimise |p - 3|^2 from 0; every optimizer must get close."""
    p = Parameter(np.zeros(4, np.float32))
    opt = opt_factory([p])
    for _ in range(steps):
        opt.zero_grad()
        p.grad += 2 * (p.value - 3)
        opt.step()
    return p


@pytest.mark.parametrize(
    "factory",
    [
        lambda ps: SGD(ps, 0.1),
        lambda ps: SGD(ps, 0.05, momentum=0.9),
        lambda ps: SGD(ps, 0.05, momentum=0.9, nesterov=True),
        lambda ps: Adam(ps, 0.1),
        lambda ps: AdamW(ps, 0.1, weight_decay=0.0),
    ],
)
def test_optimizers_minimise_a_quadratic_in_float32(factory):
    p = _quadratic(factory)
    np.testing.assert_allclose(p.value, 3.0, atol=1e-2)
    assert p.value.dtype == np.float32


def test_optimizer_state_is_float32_and_round_trips():
    p = Parameter(np.ones(3, np.float32))
    opt = Adam([p], 0.1)
    p.grad += 1
    opt.step()
    state = opt.state_dict()
    assert state["m.0"].dtype == np.float32 and int(state["n_steps"]) == 1
    other = Adam([Parameter(np.ones(3, np.float32))], 0.1)
    other.load_state_dict(state)
    np.testing.assert_array_equal(other.state["v"][0], opt.state["v"][0])
    with pytest.raises(ValueError, match=r"m.0 must have shape \(3,\), got \(2,\)"):
        other.load_state_dict({**state, "m.0": np.zeros(2, np.float32)})


def test_clip_grad_norm_returns_the_norm_and_rescales():
    a, b = Parameter(np.zeros(2, np.float32)), Parameter(np.zeros(1, np.float32))
    a.grad[:] = [3.0, 0.0]
    b.grad[:] = [4.0]
    assert np.isclose(clip_grad_norm([a, b], 1.0), 5.0)
    np.testing.assert_allclose(np.sqrt((a.grad**2).sum() + (b.grad**2).sum()), 1.0, rtol=1e-5)
    assert np.isclose(clip_grad_norm([a, b], 10.0), 1.0, rtol=1e-5)  # below the threshold: unchanged


def test_schedules():
    assert Constant(0.5)(1000) == 0.5
    halving = StepDecay(0.7, start=10, every=5)
    assert [halving(s) for s in (1, 10, 11, 15, 16, 21)] == [0.7, 0.7, 0.35, 0.35, 0.175, 0.0875]
    warm = WarmupInverseSqrt(1e-3, warmup=100)
    assert np.isclose(warm(50), 5e-4) and np.isclose(warm(100), 1e-3) and np.isclose(warm(400), 5e-4)
    cos = Cosine(1.0, total_steps=110, warmup=10)
    assert np.isclose(cos(5), 0.5) and np.isclose(cos(10), 1.0) and np.isclose(cos(60), 0.5) and np.isclose(cos(110), 0)


def test_bad_hyperparameters():
    p = [Parameter(np.zeros(1, np.float32))]
    with pytest.raises(ValueError, match="SGD: lr must be positive"):
        SGD(p, 0.0)
    with pytest.raises(ValueError, match="nesterov=True needs momentum"):
        SGD(p, 0.1, nesterov=True)
    with pytest.raises(ValueError, match="Adam: got no parameters"):
        Adam([], 0.1)
