"""Decoding a whole corpus: sort by length, pad into batches, decode, restore the original order.

This is the entry point for the CLI and evaluation. Sorting by length (longest first, so a batch that does not fit
fails at once) keeps padding small; pad id 0 is never read past a sentence's length by a correct model.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

from enc2dec.data.batching import pad
from enc2dec.decoding.beam import beam_search
from enc2dec.decoding.greedy import greedy_search
from enc2dec.decoding.sampling import sample
from enc2dec.decoding.state import Hypothesis, StepModel

METHODS = {"beam": beam_search, "greedy": greedy_search, "sample": sample}


def decode_all(
    model: StepModel,
    src: Sequence[Sequence[int]],
    *,
    method: str = "beam",
    batch_size: int = 64,
    **options: Any,
) -> list[Hypothesis] | list[list[Hypothesis]]:
    """Decode every sentence of src (lists of token ids, no bos/eos, none empty), batch_size at a time.

    method: "beam" (returns one n-best list per sentence), "greedy" or "sample" (one Hypothesis per sentence);
    options go to beam_search / greedy_search / sample unchanged (e.g. beam_size=5, rng=... for sampling).
    Results come back in the order of src.
    """
    if method not in METHODS:
        raise ValueError(f"decode_all: method must be one of {sorted(METHODS)}, got {method!r}")
    if not (isinstance(batch_size, numbers.Integral) and batch_size >= 1):
        raise ValueError(f"decode_all: batch_size must be an int >= 1, got {batch_size!r}")
    for i, s in enumerate(src):
        if len(s) == 0:
            raise ValueError(f"decode_all: src[{i}] is empty; every sentence needs at least one token")
    decode = METHODS[method]

    order = sorted(range(len(src)), key=lambda i: -len(src[i]))  # stable: equal lengths keep their order
    results: list[Any] = [None] * len(src)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        src_ids, src_lengths = pad([src[i] for i in idx])
        for i, out in zip(idx, decode(model, src_ids, src_lengths, **options)):
            results[i] = out
    return results
