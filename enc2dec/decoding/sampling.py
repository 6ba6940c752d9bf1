"""Ancestral sampling with temperature, top-k (Fan et al. 2018) and nucleus / top-p (Holtzman et al. 2020).

Each step reshapes the model's distribution, in this order: divide the log-probabilities by the temperature,
keep the k most likely tokens, keep the smallest set of most likely tokens whose mass reaches p, renormalise, and
draw one token per row by inverting the cumulative distribution with one uniform number from the given Generator.
The loop is greedy search's (`greedy.decode_with`); only the choice of token differs, so temperature -> 0, top_k=1
or a tiny top_p give greedy's output. Hypothesis scores are the model's own log-probabilities, not the reshaped ones.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from enc2dec.decoding.greedy import decode_with
from enc2dec.decoding.state import BOS_ID, EOS_ID, Hypothesis, StepModel
from enc2dec.nn import functional


def sample(
    model: StepModel,
    src_ids: np.ndarray,
    src_lengths: np.ndarray,
    *,
    rng: np.random.Generator,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    min_length: int = 0,
    no_repeat_ngram: int = 0,
    prefix: Sequence[Sequence[int]] | None = None,
    max_len_a: float = 1.5,
    max_len_b: float = 10,
    bos_id: int = BOS_ID,
    eos_id: int = EOS_ID,
) -> list[Hypothesis]:
    """One sampled output per sentence. src_ids: (B, S) integer, src_lengths: (B,) -> B hypotheses in input order.

    temperature > 0 (below 1 sharpens, above 1 flattens); top_k: None (all tokens) or an int >= 1;
    top_p: None (no cut) or in (0, 1]. rng supplies every random number, so a seeded Generator repeats the output.
    min_length, no_repeat_ngram, prefix: as greedy_search's (banned tokens are never drawn).
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"sample: rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if not (isinstance(temperature, numbers.Real) and temperature > 0):
        raise ValueError(f"sample: temperature must be > 0 (use greedy_search for the limit 0), got {temperature}")
    if top_k is not None and not (isinstance(top_k, numbers.Integral) and top_k >= 1):
        raise ValueError(f"sample: top_k must be None or an int >= 1, got {top_k!r}")
    if top_p is not None and not (isinstance(top_p, numbers.Real) and 0 < top_p <= 1):
        raise ValueError(f"sample: top_p must be None or in (0, 1], got {top_p!r}")

    def choose(log_probs: np.ndarray) -> np.ndarray:
        probs = sampling_probs(log_probs, temperature=temperature, top_k=top_k, top_p=top_p)
        return draw(probs, rng)

    return decode_with(
        "sample",
        model,
        src_ids,
        src_lengths,
        choose,
        min_length=min_length,
        no_repeat_ngram=no_repeat_ngram,
        prefix=prefix,
        max_len_a=max_len_a,
        max_len_b=max_len_b,
        bos_id=bos_id,
        eos_id=eos_id,
    )


def sampling_probs(
    log_probs: np.ndarray, *, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> np.ndarray:
    """log_probs: (N, V) -> (N, V) float64 probabilities after temperature, top-k and top-p; rows sum to 1."""
    N, V = log_probs.shape
    logits = log_probs.astype(np.float64) / float(temperature)
    if top_k is not None and top_k < V:
        keep = np.argpartition(-logits, top_k - 1, axis=1)[:, :top_k]  # (N, k): exactly k, ties broken arbitrarily
        masked = np.full_like(logits, -np.inf)
        np.put_along_axis(masked, keep, np.take_along_axis(logits, keep, axis=1), axis=1)
        logits = masked
    probs = functional.softmax(logits, axis=1)
    if top_p is not None and top_p < 1:
        order = np.argsort(-probs, axis=1, kind="stable")  # (N, V), most likely first
        sorted_probs = np.take_along_axis(probs, order, axis=1)
        mass_before = np.cumsum(sorted_probs, axis=1) - sorted_probs
        drop = np.zeros_like(probs, dtype=bool)
        np.put_along_axis(drop, order, mass_before >= top_p, axis=1)  # the most likely token always stays
        probs[drop] = 0.0
        probs /= probs.sum(axis=1, keepdims=True)
    return probs


def draw(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """probs: (N, V), rows summing to 1 -> (N,) int64, one draw per row by inverting the cumulative distribution.

    u is scaled by each row's total so rounding can never step past the last token with positive probability.
    """
    cdf = np.cumsum(probs, axis=1)  # (N, V)
    u = rng.random(probs.shape[0]) * cdf[:, -1]  # (N,), in [0, total)
    return (cdf <= u[:, None]).sum(axis=1).astype(np.int64)  # first index whose cdf exceeds u
