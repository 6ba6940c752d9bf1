"""decode_all: sorting, padding and batching never change a result, and the original order comes back."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.decoding import beam_search, decode_all, greedy_search, pad, sample
from tests.decoding.toy import ToyModel

CORPUS = [[4, 5, 1], [5], [1, 4, 4, 5, 2, 5, 1], [3, 5], [5, 5, 1, 1], [2], [1, 1, 4], [4, 4, 4, 4, 4], [5, 2]]


def test_pad():
    ids, lengths = pad([[4, 5], [1, 2, 3], [7]])
    np.testing.assert_array_equal(ids, [[4, 5, 0], [1, 2, 3], [7, 0, 0]])
    np.testing.assert_array_equal(lengths, [2, 3, 1])
    assert ids.dtype == lengths.dtype == np.int64


@pytest.mark.parametrize("batch_size", [1, 2, 4, 64])
def test_decode_all_greedy_and_beam_restore_order(batch_size):
    model = ToyModel(seed=0, attention=True)
    greedy = decode_all(model, CORPUS, method="greedy", batch_size=batch_size)
    beams = decode_all(model, CORPUS, method="beam", batch_size=batch_size, beam_size=3, n_best=2)
    for src, g, nbest in zip(CORPUS, greedy, beams):
        (alone,) = greedy_search(model, *pad([src]))
        assert (g.tokens, g.score) == (alone.tokens, alone.score)
        np.testing.assert_array_equal(g.attention, alone.attention)
        (alone_nbest,) = beam_search(model, *pad([src]), beam_size=3, n_best=2)
        assert [(h.tokens, h.score) for h in nbest] == [(h.tokens, h.score) for h in alone_nbest]


def test_decode_all_sample_is_seeded_and_in_order():
    model = ToyModel(seed=1)
    a = decode_all(model, CORPUS, method="sample", batch_size=4, rng=np.random.default_rng(3), top_k=1)
    assert a == decode_all(model, CORPUS, method="greedy")
    b = decode_all(model, CORPUS, method="sample", batch_size=4, rng=np.random.default_rng(3))
    c = decode_all(model, CORPUS, method="sample", batch_size=4, rng=np.random.default_rng(3))
    assert b == c
    # Sorted by length, longest first, the first batch holds CORPUS[2], [7], [4], [0] in that order.
    first = sample(model, *pad([CORPUS[i] for i in (2, 7, 4, 0)]), rng=np.random.default_rng(3))
    assert [b[i] for i in (2, 7, 4, 0)] == first


def test_decode_all_empty_corpus():
    assert decode_all(ToyModel(), [], method="greedy") == []


@pytest.mark.parametrize(
    ("src", "options", "match"),
    [
        (
            CORPUS,
            {"method": "viterbi"},
            r"decode_all: method must be one of \['beam', 'greedy', 'sample'\], got 'viterbi'",
        ),
        (CORPUS, {"batch_size": 0}, r"decode_all: batch_size must be an int >= 1, got 0"),
        ([[4], [], [5]], {}, r"decode_all: src\[1\] is empty"),
        (CORPUS, {"beam_size": 0}, r"beam_search: beam_size must be an int >= 1"),
    ],
)
def test_decode_all_errors(src, options, match):
    with pytest.raises(ValueError, match=match):
        decode_all(ToyModel(), src, **options)
