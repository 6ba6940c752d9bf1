"""Rules on what a search may emit, applied to each step's log-probabilities before any choice: a minimum length
(eos banned until `min_length` tokens are out) and n-gram blocking (no n-gram twice in one output; Paulus et al.
2018). Both set the banned tokens' log-probabilities to -inf; greedy search, beam search and sampling share them.
"""

from __future__ import annotations

import numbers

import numpy as np


def check_constraints(where: str, min_length: int, no_repeat_ngram: int) -> None:
    for name, value in (("min_length", min_length), ("no_repeat_ngram", no_repeat_ngram)):
        if not (isinstance(value, numbers.Integral) and value >= 0):
            raise ValueError(f"{where}: {name} must be an int >= 0, got {value!r}")
    if no_repeat_ngram == 1:
        raise ValueError(f"{where}: no_repeat_ngram must be 0 (off) or >= 2, got 1 (no token could repeat)")


def constrain(log_probs: np.ndarray, history: np.ndarray, *, min_length: int, no_repeat_ngram: int,
              eos_id: int) -> np.ndarray:  # fmt: skip
    """log_probs: (N, V) of the next token after history: (N, t) int, the tokens each row has emitted -> the
    log-probabilities with banned tokens at -inf (a copy when any is banned). Banned: eos while t < min_length;
    with n = no_repeat_ngram >= 2, every token that would end an n-gram the row has already emitted."""
    N, t = history.shape
    ban_eos = t < min_length
    n = no_repeat_ngram
    if not ban_eos and not (n and t >= n):
        return log_probs
    out = log_probs.copy()
    if ban_eos:
        out[:, eos_id] = -np.inf
    if n and t >= n:
        windows = np.lib.stride_tricks.sliding_window_view(history, n, axis=1)  # (N, t - n + 1, n)
        seen = np.all(windows[:, :, :-1] == history[:, None, t - n + 1 :], axis=2)  # (N, t - n + 1)
        rows, starts = np.nonzero(seen)
        out[rows, windows[rows, starts, -1]] = -np.inf
    return out
