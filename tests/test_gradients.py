"""Every layer, loss and model: analytic gradients against finite differences (float64), and float32 throughout."""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np
import pytest

import enc2dec
from enc2dec.nn import Module, gradcheck
from enc2dec.nn.gradcheck import call_backward, flatten
from tests.gradcases import all_cases

CASES = all_cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    module, inputs, *forward = CASES[name](np.random.default_rng(0))
    gradcheck(module, inputs, forward=forward[0] if forward else None)


@pytest.mark.parametrize("name", sorted(CASES))
def test_float32_stays_float32(name):
    """float32 in, float32 out: outputs, input gradients and parameter gradients; no silent upcast."""
    module, inputs, *forward = CASES[name](np.random.default_rng(0))
    outputs = forward[0](module, *inputs) if forward else module.forward(*inputs)
    for y in flatten(outputs):
        assert y.dtype == np.float32, f"{name}: output dtype {y.dtype}"
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal(y.shape).astype(np.float32) for y in flatten(outputs)]
    for dx in call_backward(module, outputs, grads):
        if dx is not None:
            assert dx.dtype == np.float32, f"{name}: input gradient dtype {dx.dtype}"
    for pname, p in module.named_parameters():
        assert p.value.dtype == np.float32 and p.grad.dtype == np.float32, f"{name}: {pname} is {p.grad.dtype}"


def _module_classes() -> set[type]:
    for info in pkgutil.walk_packages(enc2dec.__path__, "enc2dec."):
        importlib.import_module(info.name)
    found, todo = set(), [Module]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("enc2dec.") and sub.forward is not Module.forward:
                found.add(sub)
    return found


def test_every_module_has_a_gradcheck_case():
    covered = {type(CASES[name](np.random.default_rng(0))[0]) for name in CASES}
    missing = sorted(f"{c.__module__}.{c.__name__}" for c in _module_classes() - covered)
    assert not missing, f"Module subclasses without a gradcheck case: {missing}"


def test_gradcheck_catches_a_wrong_backward():
    from enc2dec.layers import Sigmoid

    class Wrong(Sigmoid):
        def backward(self, dy):
            y = self.pop_cache()
            return dy * y  # missing (1 - y)

    with pytest.raises(AssertionError, match=r"Wrong\(\): gradient of input 0 is off"):
        gradcheck(Wrong(), [np.random.default_rng(0).standard_normal((2, 3))])
