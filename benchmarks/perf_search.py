"""The PyTorch side of decoding in the performance benchmark: greedy and beam search written in torch, with the rules
of enc2dec.decoding (same maximum length int(a * src_len + b), same length normalisation score / n ** alpha, same
2K-candidate beam step and stopping test), so that both frameworks do the same work on the same weights.

A torch model here offers what enc2dec's StepModel offers, on tensors: `encode(src, src_len) -> state` (a dict of
tensors, batch on axis 0) and `step(prev, state) -> (log_probs, state)`. Both searches run under
torch.inference_mode() and return the tokens of each sentence (eos excluded) and the number of target tokens
produced (tokens plus eos where emitted, enc2dec's `Hypothesis.n_emitted`).
"""

from __future__ import annotations

from typing import Any

MAX_LEN_A, MAX_LEN_B = 1.5, 10  # enc2dec.decoding's defaults
BEAM_SIZE, LENGTH_PENALTY = 5, 1.0  # the benchmark's beam; enc2dec's default length penalty
BOS, EOS = 2, 3


def _max_lengths(src_len: Any) -> Any:
    """(B,) -> (B,) int64, as enc2dec.decoding.state.max_lengths: int(a * len + b), at least 1."""
    return (MAX_LEN_A * src_len.double() + MAX_LEN_B).long().clamp(min=1)


def _select(state: dict, index: Any) -> dict:
    return {k: v.index_select(0, index) for k, v in state.items()}


def greedy(model: Any, src: Any, src_len: Any) -> tuple[list[list[int]], int]:
    """The most likely token at every step; finished sentences leave the state, as in enc2dec."""
    import torch

    with torch.inference_mode():
        B = src.shape[0]
        max_lens = _max_lengths(src_len)
        T = int(max_lens.max())
        tokens = torch.zeros(B, T, dtype=torch.long)
        n_emitted = torch.zeros(B, dtype=torch.long)
        state = model.encode(src, src_len)
        rows = torch.arange(B)
        prev = torch.full((B,), BOS, dtype=torch.long)
        for t in range(T):
            log_probs, state = model.step(prev, state)
            ids = log_probs.argmax(dim=1)
            tokens[rows, t] = ids
            n_emitted[rows] = t + 1
            running = (ids != EOS) & (t + 1 < max_lens[rows])
            if not bool(running.any()):
                break
            if not bool(running.all()):
                keep = running.nonzero().squeeze(1)
                rows, ids, state = rows[keep], ids[keep], _select(state, keep)
            prev = ids
        out = []
        for row, n in zip(tokens.tolist(), n_emitted.tolist()):
            out.append(row[: n - 1] if row[n - 1] == EOS else row[:n])
        return out, int(n_emitted.sum())


def beam(model: Any, src: Any, src_len: Any, K: int = BEAM_SIZE, alpha: float = LENGTH_PENALTY) -> tuple[list, int]:
    """Batched beam search, n_best = 1: enc2dec.decoding.beam's algorithm step for step (module docstring there)."""
    import torch

    with torch.inference_mode():
        B = src.shape[0]
        max_lens = _max_lengths(src_len)
        finished: list[list[tuple[float, list[int], bool]]] = [[] for _ in range(B)]
        nth_best = torch.full((B,), float("-inf"), dtype=torch.float64)
        state = {k: v.repeat_interleave(K, dim=0) for k, v in model.encode(src, src_len).items()}
        active = torch.arange(B)
        beam_scores = torch.full((B, K), float("-inf"))
        beam_scores[:, 0] = 0.0
        history = torch.zeros(B, K, 0, dtype=torch.long)
        prev = torch.full((B * K,), BOS, dtype=torch.long)
        for t in range(int(max_lens.max())):
            log_probs, state = model.step(prev, state)
            n_act, V = len(active), log_probs.shape[1]
            cand = (beam_scores[:, :, None] + log_probs.view(n_act, K, V)).view(n_act, K * V)
            top_scores, top = cand.topk(min(2 * K, K * V), dim=1)  # (n_act, 2K), best first
            src_beam, tok = top // V, top % V
            ends = tok == EOS
            at_max = t + 1 >= max_lens[active]
            rank_ok = torch.arange(top.shape[1]) < K
            finish = (ends | at_max[:, None]) & rank_ok & torch.isfinite(top_scores)
            if bool(finish.any()):
                idx = finish.nonzero().tolist()
                hist, scores, toks, eos_at = history.tolist(), top_scores.tolist(), tok.tolist(), ends.tolist()
                beams, act = src_beam.tolist(), active.tolist()
                touched = set()
                for i, r in idx:
                    b, reached = act[i], eos_at[i][r]
                    tokens = hist[i][beams[i][r]] + ([] if reached else [toks[i][r]])
                    n = len(tokens) + int(reached)
                    finished[b].append((scores[i][r] / n**alpha if alpha else scores[i][r], tokens, reached))
                    touched.add(b)
                for b in touched:
                    finished[b].sort(key=lambda x: -x[0])  # stable: shorter first on ties
                    nth_best[b] = finished[b][0][0]
            keep = torch.argsort(ends.to(torch.int8), dim=1, stable=True)[:, :K]  # non-eos first, in score order
            beam_scores = top_scores.gather(1, keep)
            src_beam, tok = src_beam.gather(1, keep), tok.gather(1, keep)
            sent = torch.arange(n_act)[:, None]
            history = torch.cat([history[sent, src_beam], tok[:, :, None]], dim=2)
            best_alive = beam_scores[:, 0].double() / (t + 1) ** alpha
            running = ~at_max & (nth_best[active] < best_alive)
            if not bool(running.any()):
                break
            rows = (sent * K + src_beam)[running].reshape(-1)
            state = _select(state, rows)
            active, beam_scores, history = active[running], beam_scores[running], history[running]
            prev = tok[running].reshape(-1)
        best = [f[0] if f else (0.0, [], False) for f in finished]
        return [tokens for _, tokens, _ in best], sum(len(tokens) + int(r) for _, tokens, r in best)


def enc2dec_greedy(model: Any, src: Any, src_len: Any) -> tuple[list[list[int]], int]:
    """enc2dec's greedy_search with its defaults -> (tokens per sentence, target tokens produced)."""
    from enc2dec.decoding import greedy_search

    hyps = greedy_search(model, src, src_len, max_len_a=MAX_LEN_A, max_len_b=MAX_LEN_B)
    return [h.tokens for h in hyps], sum(h.n_emitted for h in hyps)


def enc2dec_beam(model: Any, src: Any, src_len: Any) -> tuple[list[list[int]], int]:
    """enc2dec's beam_search, beam 5, n_best 1 -> (tokens per sentence, target tokens produced)."""
    from enc2dec.decoding import beam_search

    nbest = beam_search(
        model,
        src,
        src_len,
        beam_size=BEAM_SIZE,
        length_penalty=LENGTH_PENALTY,
        max_len_a=MAX_LEN_A,
        max_len_b=MAX_LEN_B,
    )
    best = [n[0] for n in nbest]
    return [h.tokens for h in best], sum(h.n_emitted for h in best)
