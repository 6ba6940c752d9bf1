"""A toy StepModel with exact, computable answers: a fixed random table of next-token log-probabilities.

p(y_t | y_{t-2}, y_{t-1}, source) = table[ctx, y_{t-2}, y_{t-1}], ctx = (src[0] + src_len) % n_ctx. The state
carries y_{t-2}, so reordering beams wrongly changes the answers; ctx reads the source's length, so padding
mistakes change them too. With attention=True each step reports a one-hot row at source position min(t, len - 1).
"""

from __future__ import annotations

import numpy as np

from enc2dec.nn import functional

EOS = 3


class ToyModel:
    def __init__(self, vocab_size: int = 6, n_ctx: int = 3, *, seed: int = 0, eos_bias: float = 0.0,
                 attention: bool = False):  # fmt: skip
        rng = np.random.default_rng(seed)
        logits = 2.0 * rng.standard_normal((n_ctx, vocab_size, vocab_size, vocab_size), dtype=np.float32)
        logits[..., EOS] += np.float32(eos_bias)
        self.table = functional.log_softmax(logits, axis=-1)  # (n_ctx, V, V, V)
        self.n_ctx = n_ctx
        self.attention = attention
        self.batch_sizes: list[int] = []  # rows given to each step call

    def encode(self, src_ids: np.ndarray, src_lengths: np.ndarray) -> dict[str, np.ndarray]:
        B = src_ids.shape[0]
        return {
            "ctx": (src_ids[:, 0] + src_lengths) % self.n_ctx,
            "prev2": np.zeros(B, dtype=np.int64),
            "t": np.zeros(B, dtype=np.int64),
            "src_lengths": src_lengths.copy(),
            "memory": np.zeros(src_ids.shape, dtype=np.float32),  # (B, S), stands in for encoder outputs
        }

    def step(self, prev_ids: np.ndarray, state: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        assert prev_ids.dtype == np.int64 and prev_ids.shape == state["t"].shape
        self.batch_sizes.append(len(prev_ids))
        log_probs = self.table[state["ctx"], state["prev2"], prev_ids]  # (N, V)
        new = dict(state, prev2=prev_ids, t=state["t"] + 1)
        if self.attention:
            N, S = state["memory"].shape
            attn = np.zeros((N, S), dtype=np.float32)
            attn[np.arange(N), np.minimum(state["t"], state["src_lengths"] - 1)] = 1.0
            new["attention"] = attn
        return log_probs, new


def rescore(model: ToyModel, src: list[int], tokens: list[int], reached_eos: bool, bos: int = 2) -> float:
    """Sum of the model's log-probabilities of tokens (+ eos), replayed one step at a time."""
    state = model.encode(np.array([src], dtype=np.int64), np.array([len(src)], dtype=np.int64))
    prev, total = bos, 0.0
    for y in tokens + ([EOS] if reached_eos else []):
        log_probs, state = model.step(np.array([prev], dtype=np.int64), state)
        total += float(log_probs[0, y])
        prev = y
    return total


def all_outputs(model: ToyModel, src: list[int], max_len: int, bos: int = 2) -> list[tuple[float, list[int], bool]]:
    """Every output within max_len steps, by brute force: (score, tokens, reached_eos), best first."""
    out = []
    V = model.table.shape[-1]
    frontier = [([], 0.0, model.encode(np.array([src]), np.array([len(src)])), bos)]
    for t in range(max_len):
        nxt = []
        for tokens, score, state, prev in frontier:
            log_probs, new = model.step(np.array([prev], dtype=np.int64), state)
            for y in range(V):
                s = score + float(log_probs[0, y])
                if y == EOS:
                    out.append((s, tokens, True))
                elif t + 1 == max_len:
                    out.append((s, tokens + [y], False))
                else:
                    nxt.append((tokens + [y], s, new, y))
        frontier = nxt
    return sorted(out, key=lambda o: -o[0])
