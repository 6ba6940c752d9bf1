"""Beam search with n-best lists and length normalisation, batched over sentences and beams in one state.

The state holds B * K rows, sentence-major (row b*K + k is beam k of sentence b). Each step:
1. adds the model's log-probabilities to each beam's running sum: (B, K, V) candidate scores;
2. takes the 2K best of each sentence's K*V candidates at once: each beam's 2K best tokens (np.argpartition over
   the float32 log-probabilities), then the 2K best of those K*2K sums (np.argpartition, then a sort of those 2K);
3. finishes candidates ending in eos that rank within the top K, and at a sentence's maximum length finishes its
   top K whatever they end in (cut, not scored with eos), as fairseq does;
4. continues the K best candidates not ending in eos (there are always K: at most K of 2K can be eos), reordering
   the state with one generic row selection.
Initially only beam 0 is alive (the others score -inf), so the first step does not pick K copies of one token.

Ranking uses score / n ** alpha (`length_penalty` = alpha; n = tokens emitted, eos included; alpha = 0 is the raw
sum of log-probabilities), or with length_penalty_style "gnmt" score / ((5 + n) / 6) ** alpha (Wu et al. 2016).
A sentence is finished when it has n_best hypotheses and the best alive beam cannot reach the n_best-th of them:
with alpha = 0 this test is exact, since a sum of log-probabilities only falls; with alpha > 0 the alive beam is
scored at its current length (Hugging Face's early_stopping=False), because the exact bound over every longer
length rarely stops before the maximum. Finished sentences leave the state. At every step, before the choice,
`constraints.constrain` bans what may not be emitted (tokens off a forced prefix, eos before min_length, a
repeated n-gram).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from enc2dec.decoding.constraints import any_rule, check_constraints, constrain, forced_tokens, prefix_table
from enc2dec.decoding.state import (
    BOS_ID,
    EOS_ID,
    LENGTH_PENALTY_STYLES,
    Hypothesis,
    StepModel,
    check_log_probs,
    check_max_len,
    check_source,
    check_source_limit,
    check_state,
    length_limits,
    max_lengths,
    normalize,
    repeat_rows,
    select_rows,
)
from enc2dec.nn import parallel


def beam_search(
    model: StepModel,
    src_ids: np.ndarray,
    src_lengths: np.ndarray,
    *,
    beam_size: int = 5,
    n_best: int = 1,
    length_penalty: float = 1.0,
    length_penalty_style: str = "avg",
    min_length: int = 0,
    no_repeat_ngram: int = 0,
    prefix: Sequence[Sequence[int]] | None = None,
    max_len_a: float = 1.5,
    max_len_b: float = 10,
    bos_id: int = BOS_ID,
    eos_id: int = EOS_ID,
) -> list[list[Hypothesis]]:
    """The n_best highest-ranked hypotheses per sentence, best first, in input order.

    src_ids: (B, S) integer, padded; src_lengths: (B,) integer in [1, S]. beam_size K >= 1; 1 <= n_best <= K;
    length_penalty alpha >= 0 ranks by score / n_emitted ** alpha (length_penalty_style "avg") or by
    score / ((5 + n_emitted) / 6) ** alpha ("gnmt"). min_length: eos is banned until that many tokens are out;
    no_repeat_ngram n >= 2: no n-gram twice in one output (0: off). prefix: one list of token ids per sentence
    that its outputs start with (forced; scored like the rest). Each output has at most
    int(max_len_a * src_len + max_len_b) tokens, capped at the model's max_target_length (if any); a source longer
    than its max_source_length raises ValueError. A list holds fewer than n_best only when fewer finite-scored
    sequences exist within the maximum length.
    """
    where = "beam_search"
    if not (isinstance(beam_size, numbers.Integral) and beam_size >= 1):
        raise ValueError(f"{where}: beam_size must be an int >= 1, got {beam_size!r}")
    if not (isinstance(n_best, numbers.Integral) and 1 <= n_best <= beam_size):
        raise ValueError(f"{where}: n_best must be an int in [1, beam_size={beam_size}], got {n_best!r}")
    if not (isinstance(length_penalty, numbers.Real) and length_penalty >= 0):
        raise ValueError(f"{where}: length_penalty (alpha) must be >= 0, got {length_penalty!r}")
    if length_penalty_style not in LENGTH_PENALTY_STYLES:
        raise ValueError(f"{where}: length_penalty_style must be one of {LENGTH_PENALTY_STYLES}, got "
                         f"{length_penalty_style!r}")  # fmt: skip
    check_constraints(where, min_length, no_repeat_ngram)
    src_ids, src_lengths = check_source(where, src_ids, src_lengths)
    check_max_len(where, max_len_a, max_len_b)
    forced_table = prefix_table(where, prefix, len(src_ids), eos_id)
    ruled = any_rule(min_length, no_repeat_ngram, forced_table)
    B, K, alpha, style = src_ids.shape[0], int(beam_size), float(length_penalty), length_penalty_style
    if B == 0:
        return []
    check_source_limit(where, model, src_lengths)
    max_lens = max_lengths(src_lengths, max_len_a, max_len_b, length_limits(model)[1])  # (B,)

    finished: list[list[tuple[float, Hypothesis]]] = [[] for _ in range(B)]  # (normalized score, hypothesis)
    nth_best = np.full(B, -np.inf)  # n_best-th best normalized finished score per sentence, -inf until n_best

    state = model.encode(src_ids, src_lengths)
    check_state(where, state, B)
    state = repeat_rows(state, K)  # (B, ...) -> (B*K, ...)
    active = np.arange(B)  # sentences still searching; local sentence i is active[i]
    beam_scores = np.full((B, K), -np.inf)
    beam_scores[:, 0] = 0.0
    history = np.zeros((B, K, 0), dtype=np.int64)  # tokens of each alive beam
    attn_history = None  # (B, K, t, S), once the model reports attention
    prev = np.full(B * K, bos_id, dtype=np.int64)

    for t in range(int(max_lens.max())):
        log_probs, state = model.step(prev, state)
        n_act = len(active)
        check_log_probs(where, log_probs, n_act * K, eos_id)
        check_state(where, state, n_act * K)
        V = log_probs.shape[1]
        if ruled:
            log_probs = constrain(log_probs, history.reshape(n_act * K, t), min_length=min_length,
                                  no_repeat_ngram=no_repeat_ngram, eos_id=eos_id,
                                  forced=forced_tokens(forced_table, np.repeat(active, K), t))  # fmt: skip
        attn = state["attention"].reshape(n_act, K, -1) if "attention" in state else None  # (n_act, K, S)
        if attn is not None and attn_history is None:
            attn_history = np.zeros((n_act, K, 0, attn.shape[2]), dtype=attn.dtype)

        # 1-2. the 2K best of each sentence's K*V candidates, best first. A beam adds one constant to its row, so
        # those 2K lie among each row's 2K most likely tokens: select those first, in float32 over (N, V), and
        # add the float64 beam scores to K * 2K candidates per sentence only
        n_cand = min(2 * K, K * V)
        row_top = top_columns(log_probs, n_cand)  # (n_act*K, 2K), unordered
        row_scores = np.take_along_axis(log_probs, row_top, axis=1).reshape(n_act, K, -1)
        cand = (beam_scores[:, :, None] + row_scores).reshape(n_act, -1)  # (n_act, K * 2K)
        cand_tok = row_top.reshape(n_act, -1) + (np.arange(K) * V).repeat(row_top.shape[1])  # beam * V + token
        top = np.argpartition(-cand, n_cand - 1, axis=1)[:, :n_cand]  # (n_act, 2K), unordered
        top_scores = np.take_along_axis(cand, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        top = np.take_along_axis(np.take_along_axis(cand_tok, top, axis=1), order, axis=1)
        top_scores = np.take_along_axis(top_scores, order, axis=1)
        src_beam, tok = top // V, top % V  # (n_act, 2K) each
        ends = tok == eos_id
        at_max = t + 1 >= max_lens[active]  # (n_act,)

        # 3. finish eos candidates within the top K; everything in the top K at the maximum length
        finish = (ends | at_max[:, None]) & (np.arange(n_cand) < K) & np.isfinite(top_scores)
        for i, r in zip(*np.nonzero(finish)):
            b, k = active[i], src_beam[i, r]
            reached_eos = bool(ends[i, r])
            tokens = history[i, k].tolist() + ([] if reached_eos else [int(tok[i, r])])
            att = None
            if attn is not None:  # (t + 1, S) -> (t + 1, src_len)
                att = np.concatenate([attn_history[i, k], attn[i, k][None]])[:, : src_lengths[b]]
            hyp = Hypothesis(tokens=tokens, score=float(top_scores[i, r]), attention=att, reached_eos=reached_eos)
            finished[b].append((hyp.normalized_score(alpha, style), hyp))
        for b in np.unique(active[finish.any(axis=1)]):
            finished[b].sort(key=lambda pair: -pair[0])  # stable: earlier (shorter) first on ties
            if len(finished[b]) >= n_best:
                nth_best[b] = finished[b][n_best - 1][0]

        # 4. continue the K best candidates that do not end in eos
        keep = np.argsort(ends, axis=1, kind="stable")[:, :K]  # (n_act, K): non-eos first, in score order
        beam_scores = np.take_along_axis(top_scores, keep, axis=1)
        src_beam = np.take_along_axis(src_beam, keep, axis=1)
        tok = np.take_along_axis(tok, keep, axis=1)
        sent = np.arange(n_act)[:, None]
        history = np.concatenate([history[sent, src_beam], tok[:, :, None]], axis=2)  # (n_act, K, t+1)
        if attn is not None:  # (n_act, K, t, S) -> (n_act, K, t + 1, S)
            attn_history = np.concatenate([attn_history[sent, src_beam], attn[sent, src_beam][:, :, None]], axis=2)

        best_alive = normalize(beam_scores[:, 0], t + 1, alpha, style)  # beams stay sorted, so beam 0 is the best
        running = ~at_max & (nth_best[active] < best_alive)
        if not running.any():
            break
        rows = (sent * K + src_beam)[running].reshape(-1)  # state rows of the surviving beams, (n_run * K,)
        state = select_rows(state, rows)
        active, beam_scores, history = active[running], beam_scores[running], history[running]
        if attn_history is not None:
            attn_history = attn_history[running]
        prev = tok[running].reshape(-1)

    return [[hyp for _, hyp in finished[b][:n_best]] for b in range(B)]


def top_columns(x: np.ndarray, n: int) -> np.ndarray:
    """x: (N, V) float -> (N, min(n, V)) int64: the columns of each row's n largest values, unordered (which of
    equal values at the boundary is taken is unspecified, as with np.argpartition).

    A full np.argpartition over V = 10k columns writes an (N, V) int64 index array and runs several passes; here
    one pass takes the maximum of each chunk of ~sqrt(V) columns (np.maximum.reduceat, no copy). A row's n largest
    values lie in its n chunks with the largest maxima (any value outside them is below n chunk maxima, each a
    distinct element), so argpartition runs over those n chunks only. Rows are independent: row blocks run on
    threads (enc2dec.nn.parallel), with the same result on any number."""
    N, V = x.shape
    if n >= V:
        return np.broadcast_to(np.arange(V), (N, V))
    out = np.empty((N, n), dtype=np.int64)

    def block(rows: slice) -> None:
        out[rows] = _top_columns(x[rows], n)

    parallel.over_rows(block, N, x.size)
    return out


def _top_columns(x: np.ndarray, n: int) -> np.ndarray:
    """top_columns for one block of rows, n < V."""
    N, V = x.shape
    size = max(int(np.sqrt(V)), 1)
    starts = np.arange(0, V, size)
    if len(starts) <= 2 * n:  # too few chunks to gain anything
        return np.argpartition(x, V - n, axis=1)[:, V - n :]
    chunk_max = np.maximum.reduceat(x, starts, axis=1)  # (N, n_chunks)
    best = np.argpartition(chunk_max, len(starts) - n, axis=1)[:, len(starts) - n :]  # (N, n)
    cols = (starts[best][:, :, None] + np.arange(size)).reshape(N, -1)  # (N, n * size)
    valid = cols < V  # the last chunk may be short
    np.minimum(cols, V - 1, out=cols)
    # negated, so that the n smallest are wanted; NaN (past the end of a short chunk) sorts after everything, +inf
    # (a -inf value) included, so a column is never taken twice
    neg = np.where(valid, np.negative(np.take_along_axis(x, cols, axis=1)), np.nan)
    pick = np.argpartition(neg, n - 1, axis=1)[:, :n]  # (N, n)
    return np.take_along_axis(cols, pick, axis=1)
