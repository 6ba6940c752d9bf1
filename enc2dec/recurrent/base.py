"""What the recurrent layers share: fused parameters, input checks, padding masks, states, the weight gradients.

Layout (STYLE.md section 4). Time-major: x: (T, B, E), h_seq: (T, B, H). A layer with G gates fuses them:
`w_x: (E, G*H)`, `w_h: (H, G*H)`, `bias: (G*H,)`, gate blocks side by side in the order its class documents.

A *state* is what one time step hands to the next: `h: (B, H)` for RNN and GRU, the pair `(h, c)` for LSTM. The
initial state passed to `forward`, the final state it returns, the state `step` takes and returns, and the
gradients of these in `backward` all have this one form. A missing initial state is zeros.

Padding: with `lengths: (B,) int64`, step t of sequence b is real when t < lengths[b]. Past its length a sequence's
state is carried unchanged and its output is zero, so the final state is the state at the sequence's own last step
and padding never changes a result. `forward` orders the batch longest first (and restores the caller's order on
the way out), so that the sequences still running at step t are the first `live[t]` rows: each step computes only
those rows, as a view, and the products over all steps (input projections, weight gradients) skip the padded rows
when there are many (PyTorch's packed sequences do the same).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from enc2dec.nn import init
from enc2dec.nn.checks import check_float, check_int
from enc2dec.nn.parameter import Parameter

State = Any  # np.ndarray (h) or tuple[np.ndarray, np.ndarray] (h, c)
W_H_INITS = ("uniform", "orthogonal")


def check_input(owner: Any, name: str, x: Any, ndim: int, size: int, layout: str) -> tuple[int, ...]:
    """x: a float array in owner's dtype with `ndim` axes, the last of `size` (layout "(T, B, {E})") -> x.shape[:-1]."""
    check_float(owner, name, x, owner.dtype)
    if x.ndim != ndim or x.shape[-1] != size:
        raise ValueError(f"{owner!r}: {name} must have shape {layout.format(E=size)}, got {x.shape}")
    return x.shape[:-1]


def padded_lengths(owner: Any, lengths: np.ndarray | None, T: int, B: int) -> np.ndarray | None:
    """lengths: (B,) int, checked against T and B -> lengths, or None when every sequence has length T."""
    if lengths is None:
        return None
    check_int(owner, "lengths", lengths)
    if lengths.shape != (B,):
        raise ValueError(f"{owner!r}: lengths must have shape ({B},), got {lengths.shape}")
    if B and (lengths.min() < 0 or lengths.max() > T):
        raise ValueError(f"{owner!r}: lengths must be in [0, {T}], got [{lengths.min()}, {lengths.max()}]")
    if B == 0 or lengths.min() == T:
        return None
    return lengths


def reverse_padded(x: np.ndarray, lengths: np.ndarray | None) -> np.ndarray:
    """x: (T, B, ...) -> each sequence's first lengths[b] steps reversed, padding left at the end (an involution)."""
    T, B = x.shape[:2]
    if lengths is None:
        return x[::-1].copy()
    t = np.arange(T)[:, None]  # (T, 1)
    source = np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)  # (T, B)
    return x[source, np.arange(B)[None, :]]


class Recurrent:
    """What RNN, LSTM and GRU share: `forward(x, lengths, state)`, `backward(dh_seq, d_final)`, `step(x_t, state)`.

    A mixin placed before Module (`class LSTM(Recurrent, Module)`), so that only the concrete layers are Modules
    (each Module subclass has a gradcheck case). Subclasses set `n_gates` and `has_cell` and implement `_run` (the
    time loop, caching what `_backprop` needs) and `_backprop` (the reversed loop and the weight gradients).
    """

    n_gates = 1
    has_cell = False

    def __init__(self, input_size: int, hidden_size: int, *, rng: np.random.Generator, w_h_init: str = "uniform"):
        """Every parameter from U(-k, k), k = 1/sqrt(H), as in PyTorch; `w_h_init="orthogonal"` makes each gate's
        (H, H) block of w_h orthogonal instead (Saxe et al. 2014)."""
        super().__init__()
        name = type(self).__name__
        if input_size < 1 or hidden_size < 1:
            raise ValueError(f"{name}: input_size and hidden_size must be >= 1, got {input_size} and {hidden_size}")
        if w_h_init not in W_H_INITS:
            raise ValueError(f"{name}: w_h_init must be one of {W_H_INITS}, got {w_h_init!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        G, H = self.n_gates, hidden_size
        k = 1.0 / math.sqrt(H)
        self.w_x = Parameter(init.uniform((input_size, G * H), k, rng))
        if w_h_init == "orthogonal":
            self.w_h = Parameter(np.concatenate([init.orthogonal((H, H), rng) for _ in range(G)], axis=1))
        else:
            self.w_h = Parameter(init.uniform((H, G * H), k, rng))
        self.bias = Parameter(init.uniform((G * H,), k, rng))

    # -- the public interface ---------------------------------------------------------------------------------------
    def forward(
        self, x: np.ndarray, lengths: np.ndarray | None = None, state: State | None = None
    ) -> tuple[np.ndarray, State]:
        """x: (T, B, E), lengths: (B,) int64 or None (all T), state: the initial state or None (zeros)
        -> h_seq: (T, B, H), zero past each length; the final state, at each sequence's own last step."""
        T, B = self._check_x(x, "x", 3, "(T, B, {E})")
        states = self._states(state, B)
        order = back = live = None
        lengths = padded_lengths(self, lengths, T, B)
        if lengths is not None:
            order = np.argsort(-lengths, kind="stable")  # longest first: the running sequences are a prefix
            live = (lengths[order][None, :] > np.arange(T)[:, None]).sum(axis=1)  # (T,) rows running at step t
            if (order == np.arange(B)).all():
                order = None
            else:
                back = np.argsort(order)  # the caller's order again
                x, states = x[:, order], tuple(s[order] for s in states)
        h_seq, final, cache = self._run(x, live, states)
        if order is not None:
            h_seq, final = h_seq[:, back], tuple(f[back] for f in final)
        self._cache = (cache, live, order, back, state is not None)
        return h_seq, self._public(final)

    def backward(self, dh_seq: np.ndarray | None, d_final: State | None = None) -> Any:
        """dh_seq: (T, B, H) or None (zero), d_final: like the final state or None
        -> dx: (T, B, E), or (dx, d_state) when forward was given an initial state."""
        cache, live, order, back, has_state = self.pop_cache()
        x = cache[0]
        T, B, _ = x.shape
        H, dtype = self.hidden_size, self.dtype
        if dh_seq is None:
            dh_seq = np.zeros((T, B, H), dtype=dtype)
        elif np.shape(dh_seq) != (T, B, H):
            raise ValueError(f"{self!r}: dh_seq must have shape {(T, B, H)}, got {np.shape(dh_seq)}")
        elif order is not None:
            dh_seq = dh_seq[:, order]  # its padded steps are never read: the outputs there are constants (zero)
        names = ("h", "c") if self.has_cell else ("h",)
        d_parts = (None,) * len(names) if d_final is None else (tuple(d_final) if self.has_cell else (d_final,))
        for name, d in zip(names, d_parts):
            if d is not None and np.shape(d) != (B, H):
                raise ValueError(f"{self!r}: d_final {name} must have shape {(B, H)}, got {np.shape(d)}")
        # the reversed loops accumulate into these in place: always fresh copies in the parameters' dtype
        rows = slice(None) if order is None else order
        d_states = tuple(
            np.zeros((B, H), dtype=dtype) if d is None else np.asarray(d, dtype=dtype)[rows].copy() for d in d_parts
        )
        dx, d_state = self._backprop(cache, dh_seq, d_states, live)
        if order is not None:
            dx, d_state = dx[:, back], tuple(d[back] for d in d_state)
        return (dx, self._public(d_state)) if has_state else dx

    def step(self, x_t: np.ndarray, state: State | None = None) -> tuple[np.ndarray, State]:
        """One time step for decoding: x_t: (B, E), state or None (zeros) -> h_t: (B, H), new state. Caches nothing."""
        (B,) = self._check_x(x_t, "x_t", 2, "(B, {E})")
        h_t, final = self._step(x_t, self._states(state, B))
        return h_t, self._public(final)

    def zero_state(self, batch_size: int) -> State:
        """The initial state forward assumes when given none: zeros of shape (B, H) (a pair for LSTM)."""
        return self._public(self._states(None, batch_size))

    def extra_repr(self) -> str:
        return f"{self.input_size} -> {self.hidden_size}"

    # -- for subclasses ---------------------------------------------------------------------------------------------
    def _run(self, x: np.ndarray, live: np.ndarray | None, states: tuple) -> tuple[np.ndarray, tuple, Any]:
        """x: (T, B, E), live: (T,) int, step t's real rows are the first live[t] (None: all B), states: tuple of
        (B, H) -> h_seq, final states, cache. Past its length a row's state is carried."""
        raise NotImplementedError

    def _step(self, x_t: np.ndarray, states: tuple) -> tuple[np.ndarray, tuple]:
        """x_t: (B, E), states: tuple of (B, H) -> h_t: (B, H), new states (h_t may be the new state's h array).
        A one-step _run; a subclass may override it with a leaner step."""
        h_seq, final, _ = self._run(x_t[None], None, states)
        return h_seq[0], final

    def _backprop(self, cache: Any, dh_seq: np.ndarray, d_states: tuple, live: np.ndarray | None) -> tuple:
        """dh_seq: (T, B, H), read at real steps only, d_states: writable (B, H) arrays -> dx, d_initial_states."""
        raise NotImplementedError

    def _project(self, x: np.ndarray, live: np.ndarray | None) -> np.ndarray:
        """All time steps' input projections in one product: x: (T, B, E) -> x w_x + bias: (T, B, G*H), left
        unset at padded steps when those are skipped."""
        T, B, E = x.shape
        real = _real_rows(live, T, B)
        if real is None:
            gates = x.reshape(T * B, E) @ self.w_x.value  # (T*B, G*H)
            gates += self.bias.value
            return gates.reshape(T, B, -1)
        gates = np.empty((T * B, self.w_x.value.shape[1]), dtype=x.dtype)
        gates[real] = x.reshape(T * B, E)[real] @ self.w_x.value + self.bias.value  # (N, G*H)
        return gates.reshape(T, B, -1)

    @staticmethod
    def _new_states(states: tuple, T: int) -> tuple:
        """Per-step state arrays (T+1, B, H), entry 0 the initial state; entry t+1 is the state after step t."""
        out = []
        for s in states:
            a = np.empty((T + 1, *s.shape), dtype=s.dtype)
            a[0] = s
            out.append(a)
        return tuple(out)

    @staticmethod
    def _outputs(hs: np.ndarray, live: np.ndarray | None) -> np.ndarray:
        """hs: (T+1, B, H) -> h_seq: (T, B, H), zero at padded steps; a new array, never a view of the cache."""
        if live is None:
            return hs[1:].copy()
        return hs[1:] * (np.arange(hs.shape[1])[None, :] < live[:, None])[:, :, None]

    def _weight_grads(
        self, x: np.ndarray, h_prev: np.ndarray, d_gx: np.ndarray, d_gh: np.ndarray, live: np.ndarray | None
    ) -> np.ndarray:
        """One product per weight for all steps: x: (T, B, E), h_prev: (T, B, H) the states each step read,
        d_gx, d_gh: (T, B, G*H) gradients of the pre-activations x w_x + bias and h w_h, zero at padded steps
        -> dx: (T, B, E)."""
        T, B, E = x.shape
        real = _real_rows(live, T, B)
        rows = slice(None) if real is None else real
        d_gx2 = d_gx.reshape(T * B, -1)[rows]  # (N, G*H)
        self.w_x.grad += x.reshape(T * B, E)[rows].T @ d_gx2
        self.w_h.grad += h_prev.reshape(T * B, -1)[rows].T @ d_gh.reshape(T * B, -1)[rows]
        self.bias.grad += d_gx2.sum(axis=0)
        if real is None:
            return (d_gx2 @ self.w_x.value.T).reshape(T, B, E)  # (T*B, G*H) -> (T, B, E)
        dx = np.zeros((T * B, E), dtype=x.dtype)
        dx[real] = d_gx2 @ self.w_x.value.T
        return dx.reshape(T, B, E)

    # -- checks and state conversion --------------------------------------------------------------------------------
    def _check_x(self, x: Any, name: str, ndim: int, layout: str) -> tuple[int, ...]:
        return check_input(self, name, x, ndim, self.input_size, layout)

    def _states(self, state: State | None, B: int) -> tuple[np.ndarray, ...]:
        """The public state -> a tuple of (B, H) arrays (h,) or (h, c), checked; zeros when None."""
        H, dtype = self.hidden_size, self.dtype
        names = ("h", "c") if self.has_cell else ("h",)
        if state is None:
            return tuple(np.zeros((B, H), dtype=dtype) for _ in names)
        if self.has_cell:
            if not isinstance(state, (tuple, list)) or len(state) != 2:
                raise TypeError(f"{self!r}: state must be a pair (h, c), got {type(state).__name__}")
            parts = tuple(state)
        else:
            parts = (state,)
        for name, s in zip(names, parts):
            check_float(self, f"state {name}", s, dtype)
            if s.shape != (B, H):
                raise ValueError(f"{self!r}: state {name} must have shape ({B}, {H}), got {s.shape}")
        return parts

    def _public(self, states: tuple) -> State:
        return tuple(states) if self.has_cell else states[0]


def _real_rows(live: np.ndarray | None, T: int, B: int, skip_below: float = 0.9) -> np.ndarray | None:
    """The flat indices (N,) of the real rows of a (T*B, ·) array when they are under `skip_below` of all rows
    (worth gathering them for a product), else None (use every row: the padded ones are zero or ignored)."""
    if live is None or live.sum() >= skip_below * T * B:
        return None
    return np.flatnonzero(np.arange(B)[None, :] < live[:, None])


def split_state(owner: Any, state: State | None, n: int, size: int, has_cell: bool, B: int, H: int) -> list:
    """A stacked state, h: (size, B, H) or a pair (h, c) of such, -> n per-layer states of (size/n, B, H) each,
    squeezed to (B, H) when size == n; n Nones for None. Checks shapes and dtypes, naming `owner`."""
    if state is None:
        return [None] * n
    names = ("h", "c") if has_cell else ("h",)
    if has_cell:
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            raise TypeError(f"{owner!r}: state must be a pair (h, c), got {type(state).__name__}")
        parts = tuple(state)
    else:
        parts = (state,)
    for name, s in zip(names, parts):
        check_float(owner, f"state {name}", s, owner.dtype)
        if s.shape != (size, B, H):
            raise ValueError(f"{owner!r}: state {name} must have shape ({size}, {B}, {H}), got {s.shape}")
    k = size // n
    chunks = [[s[j] if k == 1 else s[j * k : (j + 1) * k] for s in parts] for j in range(n)]
    return [tuple(c) if has_cell else c[0] for c in chunks]


def join_states(states: list, has_cell: bool) -> State:
    """The inverse of split_state: per-layer states of (B, H) or (k, B, H) -> one stacked state (n*k, B, H)."""

    def stack(arrays: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([a.reshape(-1, *a.shape[-2:]) for a in arrays])  # (n*k, B, H)

    if has_cell:
        return stack([s[0] for s in states]), stack([s[1] for s in states])
    return stack(states)
