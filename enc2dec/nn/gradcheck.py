"""Check a module's analytic gradients against central finite differences, in float64.

`f = sum_i sum(g_i * y_i)` for random upstream gradients `g_i` (never ones: the true input gradient of a
softmax under `sum` is zero, and a wrong backward would pass). Every element of every float input and every
parameter is perturbed by +-eps. Random layers are reseeded before each forward so dropout masks repeat.

Backward returns gradients for the leading float inputs; float inputs after those (targets of a loss) are
treated as constants.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from enc2dec.nn.module import Module


class GradcheckError(AssertionError):
    """An analytic gradient differs from the numerical one; the message names the tensor."""


def flatten(tree: Any) -> list[np.ndarray]:
    """Arrays of a nested tuple/list output, depth first."""
    if isinstance(tree, (tuple, list)):
        return [a for item in tree for a in flatten(item)]
    return [np.asarray(tree)]


def unflatten(tree: Any, leaves: list[np.ndarray]) -> Any:
    """The inverse of `flatten`: `leaves` arranged like `tree`."""
    it = iter(leaves)

    def build(node: Any) -> Any:
        if isinstance(node, (tuple, list)):
            return tuple(build(item) for item in node)
        return next(it)

    return build(tree)


def _is_float(x: Any) -> bool:
    return isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating)


def _random_states(module: Module) -> list[tuple[np.random.Generator, dict]]:
    return [
        (m.rng, copy.deepcopy(m.rng.bit_generator.state))
        for m in module.modules()
        if isinstance(getattr(m, "rng", None), np.random.Generator)
    ]


def call_backward(module: Module, outputs: Any, grads: list[np.ndarray]) -> tuple:
    """Call backward with gradients shaped like forward's outputs; return the input gradients as a tuple."""
    if isinstance(outputs, tuple):
        dx = module.backward(*unflatten(outputs, grads))
    else:
        dx = module.backward(grads[0])
    return dx if isinstance(dx, tuple) else (dx,)


def relative_error(a: np.ndarray, n: np.ndarray) -> float:
    denom = np.linalg.norm(a) + np.linalg.norm(n)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - n) / denom)


def gradcheck(
    module: Module,
    inputs: Sequence[Any],
    *,
    eps: float = 1e-6,
    tol: float = 1e-6,
    seed: int = 0,
    forward: Callable[..., Any] | None = None,
) -> dict[str, float]:
    """Raise GradcheckError naming the first tensor whose relative error exceeds `tol`; return all errors.

    module: any Module (a layer, a loss, a model); it is deep-copied and cast to float64, never changed.
    inputs: forward's positional arguments; float arrays are copied to float64, others passed unchanged.
    forward: optional `fn(module, *inputs)` used instead of `module.forward` (backward is always `module.backward`).
    """
    module = copy.deepcopy(module).astype(np.float64)
    inputs = [np.array(x, dtype=np.float64, order="C") if _is_float(x) else x for x in inputs]
    run = forward or (lambda m, *xs: m.forward(*xs))
    states = _random_states(module)

    def evaluate() -> Any:
        for rng, state in states:
            rng.bit_generator.state = copy.deepcopy(state)
        return run(module, *inputs)

    outputs = evaluate()
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal(y.shape) for y in flatten(outputs)]

    def objective() -> float:
        return float(sum(np.sum(g * y) for g, y in zip(grads, flatten(evaluate()))))

    module.zero_grad()
    input_grads = call_backward(module, evaluate(), grads)
    float_positions = [i for i, x in enumerate(inputs) if _is_float(x)]
    if len(input_grads) > len(float_positions):
        raise GradcheckError(
            f"{module!r}: backward returned {len(input_grads)} gradients for {len(float_positions)} float inputs"
        )

    checks: list[tuple[str, np.ndarray, np.ndarray]] = [
        (f"input {pos}", inputs[pos], dx) for pos, dx in zip(float_positions, input_grads)
    ]
    checks += [(name, p.value, p.grad) for name, p in module.named_parameters()]

    errors: dict[str, float] = {}
    for name, tensor, analytic in checks:
        if analytic is None or np.shape(analytic) != tensor.shape:
            raise GradcheckError(
                f"{module!r}: gradient of {name} has shape {np.shape(analytic)}, expected {tensor.shape}"
            )
        numeric = np.zeros_like(tensor)
        flat, num = tensor.reshape(-1), numeric.reshape(-1)
        for i in range(flat.size):
            saved = flat[i]
            flat[i] = saved + eps
            f_plus = objective()
            flat[i] = saved - eps
            f_minus = objective()
            flat[i] = saved
            num[i] = (f_plus - f_minus) / (2 * eps)
        errors[name] = relative_error(np.asarray(analytic, dtype=np.float64), numeric)
        if errors[name] > tol:
            raise GradcheckError(f"{module!r}: gradient of {name} is off: relative error {errors[name]:.2e} > {tol}")
    return errors


class Objective(Module):
    """A trainable model's whole objective as a Module, so gradcheck covers model, loss and penalties together.

    model: has compute_loss(batch) -> (loss, n) and backward_loss(). forward(*batch) -> the loss (0-d);
    the batch is data, so backward returns no input gradients.
    """

    def __init__(self, model: Module):
        super().__init__()
        self.model = model

    def forward(self, *batch: Any) -> np.ndarray:
        loss, _ = self.model.compute_loss(batch if len(batch) > 1 else batch[0])
        return np.asarray(loss, dtype=self.model.dtype)

    def backward(self, dy: np.ndarray) -> tuple[()]:
        # backward_loss adds d(loss)/dp into zeroed grads; the chain rule scales them by dy
        self.model.backward_loss()
        for p in self.model.parameters():
            p.grad *= float(dy)
        return ()
