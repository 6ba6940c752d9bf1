"""Decoding a whole corpus: sort by length, pad into batches, decode, restore the original order.

This is the entry point for the CLI and evaluation. Sorting by length (longest first, so a batch that does not fit
fails at once) keeps padding small; pad id 0 is never read past a sentence's length by a correct model.

Sentences that are not decoded: an empty source (no tokens), and a source longer than the model reads
(`model.max_source_length`, e.g. a Transformer's table of learned positions). Their entry is empty: `[]` for beam
search and `num_samples` sampling, None for greedy search and single sampling. Every other sentence is decoded;
then, if any source was too long, `SourcesTooLongError` is raised, holding those results and one `TooLong`
per such sentence (its index in src), so that a caller can write the other translations and report each one as
"line N: source has X tokens, the model reads at most Y". `n_best_rows` turns results into exactly k entries per
sentence, for output with k lines per input.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from enc2dec.data.batching import pad
from enc2dec.decoding.beam import beam_search
from enc2dec.decoding.greedy import greedy_search
from enc2dec.decoding.sampling import sample
from enc2dec.decoding.shortlist import Shortlist, Shortlisted
from enc2dec.decoding.state import Hypothesis, StepModel, length_limits

METHODS = {"beam": beam_search, "greedy": greedy_search, "sample": sample}


class TooLong(NamedTuple):
    """Sentence src[index] has `length` tokens, more than the model reads (`limit`)."""

    index: int
    length: int
    limit: int

    def __str__(self) -> str:
        return f"source has {self.length} tokens, the model reads at most {self.limit}"


class SourcesTooLongError(ValueError):
    """Raised by decode_all after decoding every other sentence. results: decode_all's results, with an empty
    entry ([] or None) for each over-long source; too_long: one TooLong per such source, in src order."""

    def __init__(self, too_long: list[TooLong], results: list[Any]):
        self.too_long = too_long
        self.results = results
        first = too_long[0]
        more = f" (and {len(too_long) - 1} more)" if len(too_long) > 1 else ""
        super().__init__(f"decode_all: src[{first.index}]: {first}{more}")


def decode_all(
    model: StepModel,
    src: Sequence[Sequence[int]],
    *,
    method: str = "beam",
    batch_size: int = 64,
    seed: int | None = None,
    num_samples: int | None = None,
    shortlist: Shortlist | None = None,
    **options: Any,
) -> list[Any]:
    """Decode every sentence of src (lists of token ids, no bos/eos), batch_size at a time; results in src order.

    method "beam": one n-best list per sentence (options: beam_size, n_best, length_penalty, ...); it holds n_best
    hypotheses unless fewer finite-scored outputs exist within the maximum length. "greedy": one Hypothesis per
    sentence. "sample": needs seed (an int) or rng= (a numpy Generator, used for the whole corpus); the same seed,
    src and batch_size give the same samples. One Hypothesis per sentence, or with num_samples=k a list of k
    independent samples. prefix: one list of target token ids per sentence, forced at the start of its outputs.
    shortlist (decoding.shortlist): each batch decoded over its lexical shortlist only (an approximation).
    Other options go to beam_search / greedy_search / sample unchanged (max_len_a, ...).
    Output lengths are capped at the model's max_target_length. Empty and over-long sources: see the module doc.
    """
    if method not in METHODS:
        raise ValueError(f"decode_all: method must be one of {sorted(METHODS)}, got {method!r}")
    if not (isinstance(batch_size, numbers.Integral) and batch_size >= 1):
        raise ValueError(f"decode_all: batch_size must be an int >= 1, got {batch_size!r}")
    repeat = 1
    if method == "sample":
        options["rng"] = _sampling_rng(seed, options.get("rng"))
        if "n_best" in options:
            raise ValueError("decode_all: method 'sample' takes num_samples=k for k outputs per sentence, not n_best")
        if num_samples is not None:
            if not (isinstance(num_samples, numbers.Integral) and num_samples >= 1):
                raise ValueError(f"decode_all: num_samples must be None or an int >= 1, got {num_samples!r}")
            repeat = int(num_samples)
    elif seed is not None or num_samples is not None:
        raise ValueError(f"decode_all: seed and num_samples are for method 'sample', not {method!r}")
    grouped = method == "beam" or num_samples is not None  # a list per sentence
    decode = METHODS[method]

    max_source = length_limits(model)[0]
    too_long = [
        TooLong(i, len(s), max_source) for i, s in enumerate(src) if max_source is not None and len(s) > max_source
    ]
    skip = {t.index for t in too_long}
    todo = [i for i, s in enumerate(src) if len(s) > 0 and i not in skip]
    rows = [i for i in todo for _ in range(repeat)]  # each sentence num_samples times, adjacent

    prefix = options.pop("prefix", None)
    if prefix is not None and len(prefix) != len(src):
        raise ValueError(f"decode_all: prefix must hold one token list per sentence ({len(src)}), got {len(prefix)}")
    outputs: list[Any] = [None] * len(rows)
    for idx in batch_order([len(src[r]) for r in rows], batch_size):
        src_ids, src_lengths = pad([src[rows[r]] for r in idx])
        forced = None if prefix is None else [prefix[rows[r]] for r in idx]
        batch_model = model
        if shortlist is not None:  # this batch's shortlist, the forced tokens included
            also = [t for p in forced for t in p] if forced is not None else []
            batch_model = Shortlisted(model, shortlist.columns(src_ids, src_lengths, also))
            forced = None if forced is None else [batch_model.from_target(p) for p in forced]
        if forced is not None:
            options["prefix"] = forced
        for r, out in zip(idx, decode(batch_model, src_ids, src_lengths, **options)):
            outputs[r] = out if shortlist is None else _map_hypotheses(out, batch_model.to_target)

    results: list[Any] = [[] if grouped else None for _ in src]
    for k, i in enumerate(todo):
        results[i] = outputs[k * repeat : (k + 1) * repeat] if num_samples is not None else outputs[k]
    if too_long:
        raise SourcesTooLongError(too_long, results)
    return results


def _map_hypotheses(out: Any, fn: Any) -> Any:
    """fn applied to one sentence's result: a Hypothesis or a list of them."""
    return [fn(h) for h in out] if isinstance(out, list) else fn(out)


def _sampling_rng(seed: int | None, rng: Any) -> np.random.Generator:
    if (seed is None) == (rng is None):
        raise ValueError("decode_all: method 'sample' needs exactly one of seed (an int) and rng (a numpy Generator)")
    if rng is not None:
        return rng  # sample() checks its type
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"decode_all: seed must be an int >= 0, got {seed!r}")
    return np.random.default_rng(int(seed))


def batch_order(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """The batches decode_all forms: indices longest first (stable: equal lengths keep their order), batch_size at
    a time. Ranks that each take whole batches of this order make exactly one process's decoding calls."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[k : k + batch_size] for k in range(0, len(order), batch_size)]


def n_best_rows(results: Sequence[Any], k: int) -> list[list[Hypothesis | None]]:
    """decode_all's results -> exactly k entries per sentence (best first), None where there is no k-th
    hypothesis (an empty or over-long source, or fewer possible outputs than k); for writing k lines per input."""
    if not (isinstance(k, numbers.Integral) and k >= 1):
        raise ValueError(f"n_best_rows: k must be an int >= 1, got {k!r}")
    rows = []
    for r in results:
        hyps = list(r) if isinstance(r, list) else ([] if r is None else [r])
        rows.append(hyps[:k] + [None] * (k - len(hyps[:k])))
    return rows
