"""Optimizer base: holds the parameters and per-parameter state arrays; saving and loading that state."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from enc2dec.nn import parallel
from enc2dec.nn.parameter import Parameter


class Optimizer:
    """Subclasses define `_update(i, p)`, changing p.value in place from p.grad and parameter i's own state only
    (`step` updates groups of parameters on threads, enc2dec.nn.parallel). `lr` may be set by a schedule."""

    state_names: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Parameter], lr: float):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got no parameters to optimize")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError(f"{type(self).__name__}: a parameter appears more than once")
        if lr <= 0:
            raise ValueError(f"{type(self).__name__}: lr must be positive, got {lr}")
        self.lr = float(lr)
        self.n_steps = 0
        self.state = {name: [np.zeros_like(p.value) for p in self.params] for name in self.state_names}

    def step(self) -> None:
        self.n_steps += 1
        groups = parallel.balanced_groups([p.value.size for p in self.params])
        parallel.run([lambda group=group: self._update_all(group) for group in groups])

    def _update_all(self, indices: list[int]) -> None:
        for i in indices:
            self._update(i, self.params[i])

    def _update(self, i: int, p: Parameter) -> None:
        raise NotImplementedError

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad[...] = 0

    def state_dict(self) -> dict[str, np.ndarray]:
        """Flat name -> array, ready for safetensors: `m.3` is the first moment of parameter 3."""
        arrays = {f"{name}.{i}": a for name, values in self.state.items() for i, a in enumerate(values)}
        arrays["n_steps"] = np.asarray(self.n_steps, dtype=np.int64)
        return arrays

    def load_state_dict(self, arrays: dict[str, np.ndarray]) -> None:
        expected = set(self.state_dict())
        if set(arrays) != expected:
            missing, unexpected = sorted(expected - set(arrays)), sorted(set(arrays) - expected)
            raise ValueError(f"{type(self).__name__}.load_state_dict: missing {missing}, unexpected {unexpected}")
        for name, values in self.state.items():
            for i, a in enumerate(values):
                given = arrays[f"{name}.{i}"]
                if given.shape != a.shape:
                    raise ValueError(
                        f"{type(self).__name__}.load_state_dict: {name}.{i} must have shape {a.shape}, got {given.shape}"
                    )
                a[...] = given
        self.n_steps = int(arrays["n_steps"])
