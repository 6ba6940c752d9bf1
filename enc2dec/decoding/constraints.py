"""Rules on what a search may emit, applied to each step's log-probabilities before any choice: a forced target
prefix (the first tokens given per sentence), a minimum length (eos banned until `min_length` tokens are out) and
n-gram blocking (no n-gram twice in one output; Paulus et al. 2018). All set the banned tokens' log-probabilities
to -inf; greedy search, beam search and sampling share them.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np


def check_constraints(where: str, min_length: int, no_repeat_ngram: int) -> None:
    for name, value in (("min_length", min_length), ("no_repeat_ngram", no_repeat_ngram)):
        if not (isinstance(value, numbers.Integral) and value >= 0):
            raise ValueError(f"{where}: {name} must be an int >= 0, got {value!r}")
    if no_repeat_ngram == 1:
        raise ValueError(f"{where}: no_repeat_ngram must be 0 (off) or >= 2, got 1 (no token could repeat)")


def any_rule(min_length: int, no_repeat_ngram: int, table: np.ndarray | None) -> bool:
    """Whether a search has any rule to apply (if not, it skips `constrain` and the history it needs)."""
    return bool(min_length or no_repeat_ngram or table is not None)


def prefix_table(where: str, prefix: Sequence[Sequence[int]] | None, n_sentences: int,
                 eos_id: int) -> np.ndarray | None:  # fmt: skip
    """One forced prefix (token ids, no bos or eos; may be empty) per sentence -> (B, P) int64, -1 past each
    prefix's end; None for no prefix."""
    if prefix is None:
        return None
    if len(prefix) != n_sentences:
        raise ValueError(f"{where}: prefix must hold one token list per sentence ({n_sentences}), got {len(prefix)}")
    width = max((len(p) for p in prefix), default=0)
    table = np.full((n_sentences, width), -1, dtype=np.int64)
    for b, p in enumerate(prefix):
        ids = np.asarray(p, dtype=np.int64).reshape(-1)
        if np.any(ids < 0) or np.any(ids == eos_id):
            raise ValueError(f"{where}: prefix {b} holds a negative id or eos: {list(p)}")
        table[b, : len(ids)] = ids
    return table


def constrain(log_probs: np.ndarray, history: np.ndarray, *, min_length: int, no_repeat_ngram: int,
              eos_id: int, forced: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """log_probs: (N, V) of the next token after history: (N, t) int, the tokens each row has emitted -> the
    log-probabilities with banned tokens at -inf (a copy when any is banned). Banned: eos while t < min_length;
    with n = no_repeat_ngram >= 2, every token that would end an n-gram the row has already emitted; where
    forced: (N,) int holds a token id (not -1), every other token (the prefix's token is kept whatever else
    would ban it)."""
    N, t = history.shape
    ban_eos = t < min_length
    n = no_repeat_ngram
    forcing = forced is not None and bool(np.any(forced >= 0))
    if not ban_eos and not (n and t >= n) and not forcing:
        return log_probs
    out = log_probs.copy()
    if ban_eos:
        out[:, eos_id] = -np.inf
    if n and t >= n:
        windows = np.lib.stride_tricks.sliding_window_view(history, n, axis=1)  # (N, t - n + 1, n)
        seen = np.all(windows[:, :, :-1] == history[:, None, t - n + 1 :], axis=2)  # (N, t - n + 1)
        rows, starts = np.nonzero(seen)
        out[rows, windows[rows, starts, -1]] = -np.inf
    if forcing:  # last: a forced row emits the prefix's token, whatever the rules above say
        rows = np.flatnonzero(forced >= 0)
        out[rows] = -np.inf
        out[rows, forced[rows]] = log_probs[rows, forced[rows]]
    return out


def forced_tokens(table: np.ndarray | None, sentences: np.ndarray, t: int) -> np.ndarray | None:
    """The prefix token each row must emit at step t (-1: free), rows belonging to `sentences`: (N,) indices
    into the table's rows; None when no row is forced any more."""
    if table is None or t >= table.shape[1]:
        return None
    return table[sentences, t]
