"""Input checks that name the layer, the argument, and what was expected versus given."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np


def check_float(owner: Any, name: str, x: Any, dtype: np.dtype | None = None) -> None:
    """x must be a float ndarray (of `dtype` when given: layers compute in their parameters' dtype)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{owner!r}: {name} must be a numpy array, got {type(x).__name__}")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{owner!r}: {name} must be a float array, got dtype {x.dtype}")
    if dtype is not None and x.dtype != dtype:
        raise TypeError(f"{owner!r}: {name} must have dtype {np.dtype(dtype)} like the parameters, got {x.dtype}")


def check_int(owner: Any, name: str, x: Any) -> None:
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.integer):
        got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"{owner!r}: {name} must be an integer array, got {got}")


def check_last_dim(owner: Any, name: str, x: Any, size: int, dtype: np.dtype | None = None) -> None:
    """x: (..., size) float array."""
    check_float(owner, name, x, dtype)
    if x.ndim == 0 or x.shape[-1] != size:
        raise ValueError(f"{owner!r}: {name} must have shape (..., {size}), got {x.shape}")


def check_ndim(owner: Any, name: str, x: np.ndarray, ndim: int, layout: str) -> None:
    if x.ndim != ndim:
        raise ValueError(f"{owner!r}: {name} must have shape {layout}, got {x.shape}")


# -- config fields: each config dataclass's __post_init__ checks its fields with these, so that a config is refused
# when it is made (at load time, before any data is read), naming the class, the field, the range and the value.
def check_int_field(owner: str, name: str, value: Any, minimum: int, *, optional: bool = False, note: str = "") -> None:
    """`owner.name` must be an int >= minimum (or None when optional); `note` says what a special value means."""
    range_ = f">= {minimum}{f' ({note})' if note else ''}"
    _check_number(owner, name, value, optional, "an int", range_, lambda v: v >= minimum)


def check_float_field(
    owner: str,
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    bounds: str = "[]",
    *,
    optional: bool = False,
) -> None:
    """`owner.name` must be a finite number between low and high (or None when optional); bounds "[]", "[)", "(]"
    or "()" say whether each end belongs to the range. NaN and infinities are refused."""
    if high == math.inf:
        range_ = f"{'>' if bounds[0] == '(' else '>='} {low:g}"
    else:
        range_ = f"in {bounds[0]}{low:g}, {high:g}{bounds[1]}"

    def inside(v: float) -> bool:
        above = v > low if bounds[0] == "(" else v >= low
        below = v < high if bounds[1] == ")" else v <= high
        return above and below and (isinstance(v, int) or math.isfinite(v))

    _check_number(owner, name, value, optional, "a number", range_, inside)


def _check_number(
    owner: str, name: str, value: Any, optional: bool, noun: str, range_: str, inside: Callable[[Any], bool]
) -> None:
    if value is None and optional:
        return
    null = "null or " if optional else ""
    kinds = (int,) if noun == "an int" else (int, float)
    if not isinstance(value, kinds) or isinstance(value, bool):
        raise TypeError(f"{owner}.{name} must be {null}{noun} {range_}, got {type(value).__name__} {value!r}")
    if not inside(value):
        raise ValueError(f"{owner}.{name} must be {null}{range_}, got {value}")


def check_flags(config: Any) -> None:
    """Every field of dataclass `config` annotated `bool` holds a bool (1, 0 or "yes" are refused)."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if f.type in ("bool", bool) and not isinstance(value, bool):
            raise TypeError(
                f"{type(config).__name__}.{f.name} must be true or false, got {type(value).__name__} {value!r}"
            )


def check_tied_output(where: str, config: object, out_size: int) -> None:
    """A recurrent model's tie_output: the output projection is the target embedding, (V, embed_size), so the
    vector it projects must have embed_size units too."""
    if config.tie_output and config.embed_size != out_size:
        raise ValueError(f"{where}: tie_output needs embed_size == hidden_size (the output projection is the target "
                         f"embedding), got {config.embed_size} and {out_size}")  # fmt: skip
