"""The Module base class: explicit forward/backward, parameters found by attribute walk, strict state dicts.

Contract (STYLE.md section 3): `forward(*inputs)` stores in `self._cache` what `backward` needs; `backward(dy)`
takes it with `pop_cache()`, adds into each `Parameter.grad` and returns the gradient of each float input in
forward's argument order (a tuple if several). Backward never changes `Parameter.value`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from enc2dec.nn.parameter import Parameter


class Module:
    def __init__(self) -> None:
        self.training = True
        self._cache: Any = None

    # -- computation ------------------------------------------------------------------------------------------
    def forward(self, *inputs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, *grads: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def __call__(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.forward(*inputs, **kwargs)

    def pop_cache(self) -> Any:
        """Return and clear what forward stored; backward without a forward is an error naming the layer."""
        if self._cache is None:
            raise RuntimeError(f"{self!r}: backward called without a preceding forward (or called twice)")
        cache, self._cache = self._cache, None
        return cache

    # -- structure --------------------------------------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Direct submodules in attribute order; lists and tuples of modules are numbered (`layers.0`)."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Every parameter once, by dotted attribute path; a tied parameter appears under its first name."""
        seen: set[int] = set()
        for mod_name, module in self.named_modules(prefix):
            for name, value in vars(module).items():
                if isinstance(value, Parameter) and id(value) not in seen:
                    seen.add(id(value))
                    yield (f"{mod_name}.{name}" if mod_name else name), value

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def n_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    # -- modes and gradients ----------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def clear_cache(self) -> None:
        """Drop every cache below this module (after an inference-only forward): `_cache` and any other attribute
        named `_<what>_cache` (a penalty's or a loss's)."""
        for module in self.modules():
            for name in [n for n in vars(module) if n.startswith("_") and n.endswith("_cache")]:
                setattr(module, name, None)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad[...] = 0

    def astype(self, dtype: np.dtype | type) -> Module:
        """Cast every parameter (value and grad) in place; float64 is for gradcheck and for the scikit-learn
        estimator given float64 data (tasks/estimator.py)."""
        for p in self.parameters():
            p.value = np.ascontiguousarray(p.value, dtype=dtype)
            p.grad = np.zeros_like(p.value)
        return self

    @property
    def dtype(self) -> np.dtype:
        params = self.parameters()
        return params[0].dtype if params else np.dtype(np.float32)

    # -- state ------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        return {name: p.value for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Strict: every parameter present with its shape; nothing unexpected. Values are copied in."""
        own = dict(self.named_parameters())
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: missing keys {missing}, unexpected keys {unexpected}"
            )
        for name, p in own.items():
            value = np.asarray(state[name])
            if value.shape != p.shape:
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: {name} must have shape {p.shape}, got {value.shape}"
                )
            p.value = np.array(value, dtype=p.dtype, order="C")

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"
