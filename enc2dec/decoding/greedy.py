"""Greedy decoding, and the one-path decoding loop that greedy search and sampling share.

One path per sentence: each step feeds the previous tokens of the unfinished sentences to `model.step` and picks
one token per row with `choose` (argmax here; a draw in `sampling.py`). A sentence stops at eos or at its maximum
length int(max_len_a * src_len + max_len_b); finished rows are dropped from the state (one generic row selection),
so their outputs stop changing and later steps only compute the sentences still running. Before the choice,
`constraints.constrain` bans what may not be emitted (tokens off a forced prefix, eos before min_length, a
repeated n-gram).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from enc2dec.decoding.constraints import any_rule, check_constraints, constrain, forced_tokens, prefix_table
from enc2dec.decoding.state import (
    BOS_ID,
    EOS_ID,
    Hypothesis,
    StepModel,
    check_log_probs,
    check_max_len,
    check_source,
    check_source_limit,
    check_state,
    length_limits,
    max_lengths,
    select_rows,
)

Chooser = Callable[[np.ndarray], np.ndarray]  # log_probs: (N, V) -> token ids: (N,)


def argmax_ids(log_probs: np.ndarray) -> np.ndarray:
    """log_probs: (N, V) -> (N,) int64, the most likely token of each row (lowest id on ties)."""
    return log_probs.argmax(axis=1).astype(np.int64)


def greedy_search(
    model: StepModel,
    src_ids: np.ndarray,
    src_lengths: np.ndarray,
    *,
    min_length: int = 0,
    no_repeat_ngram: int = 0,
    prefix: Sequence[Sequence[int]] | None = None,
    max_len_a: float = 1.5,
    max_len_b: float = 10,
    bos_id: int = BOS_ID,
    eos_id: int = EOS_ID,
) -> list[Hypothesis]:
    """The most likely token at every step, for a batch of sentences at once.

    src_ids: (B, S) integer, padded; src_lengths: (B,) integer in [1, S]. Returns B hypotheses in input order;
    each has at most int(max_len_a * src_len + max_len_b) tokens, capped at the model's max_target_length (if any;
    at least 1 step is always taken); a source longer than its max_source_length raises ValueError. min_length:
    eos is banned until that many tokens are out; no_repeat_ngram n >= 2: no n-gram twice in one output (0: off);
    prefix: one list of token ids per sentence that its output starts with (forced; scored like the rest).
    """
    return decode_with(
        "greedy_search",
        model,
        src_ids,
        src_lengths,
        argmax_ids,
        min_length=min_length,
        no_repeat_ngram=no_repeat_ngram,
        prefix=prefix,
        max_len_a=max_len_a,
        max_len_b=max_len_b,
        bos_id=bos_id,
        eos_id=eos_id,
    )


def decode_with(
    where: str,
    model: StepModel,
    src_ids: np.ndarray,
    src_lengths: np.ndarray,
    choose: Chooser,
    *,
    min_length: int,
    no_repeat_ngram: int,
    prefix: Sequence[Sequence[int]] | None,
    max_len_a: float,
    max_len_b: float,
    bos_id: int,
    eos_id: int,
) -> list[Hypothesis]:
    """The batched one-path loop; `where` names the public function in error messages."""
    src_ids, src_lengths = check_source(where, src_ids, src_lengths)
    check_max_len(where, max_len_a, max_len_b)
    check_constraints(where, min_length, no_repeat_ngram)
    forced_table = prefix_table(where, prefix, len(src_ids), eos_id)
    ruled = any_rule(min_length, no_repeat_ngram, forced_table)
    B = src_ids.shape[0]
    if B == 0:
        return []
    check_source_limit(where, model, src_lengths)
    max_lens = max_lengths(src_lengths, max_len_a, max_len_b, length_limits(model)[1])  # (B,)
    T = int(max_lens.max())

    tokens = np.zeros((B, T), dtype=np.int64)
    scores = np.zeros(B, dtype=np.float64)  # float64 sums: long outputs lose no precision
    n_emitted = np.zeros(B, dtype=np.int64)
    attention = None  # (B, T, S), allocated when the model first reports attention

    state = model.encode(src_ids, src_lengths)
    check_state(where, state, B)
    rows = np.arange(B)  # batch rows still running; row i of the state is sentence rows[i]
    prev = np.full(B, bos_id, dtype=np.int64)
    for t in range(T):
        log_probs, state = model.step(prev, state)
        check_log_probs(where, log_probs, len(rows), eos_id)
        check_state(where, state, len(rows))
        allowed = log_probs
        if ruled:
            allowed = constrain(log_probs, tokens[rows, :t], min_length=min_length, no_repeat_ngram=no_repeat_ngram,
                                eos_id=eos_id, forced=forced_tokens(forced_table, rows, t))  # fmt: skip
        ids = choose(allowed)  # (N,)
        tokens[rows, t] = ids
        scores[rows] += log_probs[np.arange(len(rows)), ids]
        n_emitted[rows] = t + 1
        if "attention" in state:
            if attention is None:
                attention = np.zeros((B, T, state["attention"].shape[1]), dtype=state["attention"].dtype)
            attention[rows, t] = state["attention"]

        running = (ids != eos_id) & (t + 1 < max_lens[rows])
        if not running.any():
            break
        if not running.all():
            rows, ids, state = rows[running], ids[running], select_rows(state, running)
        prev = ids

    hyps = []
    for b in range(B):
        out = tokens[b, : n_emitted[b]]
        reached_eos = bool(out[-1] == eos_id)
        hyps.append(
            Hypothesis(
                tokens=out[:-1].tolist() if reached_eos else out.tolist(),
                score=float(scores[b]),
                attention=None if attention is None else attention[b, : n_emitted[b], : src_lengths[b]].copy(),
                reached_eos=reached_eos,
            )
        )
    return hyps
