"""decode_all: sorting, padding and batching never change a result, and the original order comes back."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.decoding import (
    SourcesTooLongError,
    TooLong,
    beam_search,
    decode_all,
    greedy_search,
    n_best_rows,
    pad,
    sample,
)
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
        (CORPUS, {"method": "sample"}, r"decode_all: method 'sample' needs exactly one of seed \(an int\) and rng"),
        (CORPUS, {"method": "sample", "seed": 1, "rng": np.random.default_rng(1)}, r"needs exactly one of seed"),
        (CORPUS, {"method": "sample", "seed": -1}, r"decode_all: seed must be an int >= 0, got -1"),
        (CORPUS, {"method": "sample", "seed": 0, "n_best": 2}, r"method 'sample' takes num_samples=k .* not n_best"),
        (CORPUS, {"method": "sample", "seed": 0, "num_samples": 0}, r"num_samples must be None or an int >= 1, got 0"),
        (CORPUS, {"method": "greedy", "seed": 0}, r"decode_all: seed and num_samples are for method 'sample'"),
        (CORPUS, {"beam_size": 0}, r"beam_search: beam_size must be an int >= 1"),
    ],
)
def test_decode_all_errors(src, options, match):
    with pytest.raises(ValueError, match=match):
        decode_all(ToyModel(), src, **options)


def test_decode_all_sample_with_a_seed_repeats_and_num_samples_gives_k_each():
    model = ToyModel(seed=1)
    a = decode_all(model, CORPUS, method="sample", seed=5, batch_size=4)
    assert a == decode_all(model, CORPUS, method="sample", seed=5, batch_size=4)
    assert a == decode_all(model, CORPUS, method="sample", rng=np.random.default_rng(5), batch_size=4)
    assert a != decode_all(model, CORPUS, method="sample", seed=6, batch_size=4)  # 9 sentences: differ somewhere
    many = decode_all(model, CORPUS, method="sample", seed=5, num_samples=4, batch_size=5)
    assert many == decode_all(model, CORPUS, method="sample", seed=5, num_samples=4, batch_size=5)
    assert [len(m) for m in many] == [4] * len(CORPUS)
    assert any(len({tuple(h.tokens) for h in m}) > 1 for m in many)  # independent draws, not copies
    greedy = decode_all(model, CORPUS, method="greedy")
    assert decode_all(model, CORPUS, method="sample", seed=0, num_samples=2, top_k=1) == [[g, g] for g in greedy]


def test_beam_n_best_always_holds_k_hypotheses():
    model = ToyModel(seed=2, vocab_size=7)
    for k in (1, 3, 5):
        results = decode_all(model, CORPUS, method="beam", beam_size=5, n_best=k, max_len_b=4)
        assert [len(r) for r in results] == [k] * len(CORPUS)
        assert all(len({tuple(h.tokens) for h in r}) == k for r in results)  # k different outputs


def test_empty_sources_are_not_decoded():
    model = ToyModel(seed=0)
    src = [[4, 5], [], [5]]
    beams = decode_all(model, src, method="beam", beam_size=2, n_best=2)
    assert beams[1] == [] and len(beams[0]) == len(beams[2]) == 2
    greedy = decode_all(model, src, method="greedy")
    assert greedy[1] is None and greedy[0] == greedy_search(model, *pad([[4, 5]]))[0]
    assert decode_all(model, src, method="sample", seed=0, num_samples=2)[1] == []
    assert decode_all(model, [[], []], method="greedy") == [None, None]


def test_over_long_sources_are_reported_and_the_rest_decoded():
    model = ToyModel(seed=0)
    model.max_source_length = 3
    with pytest.raises(SourcesTooLongError, match=r"decode_all: src\[2\]: source has 7 tokens, the model reads at "
                                                  r"most 3 \(and 2 more\)") as info:  # fmt: skip
        decode_all(model, CORPUS, method="beam", beam_size=2, n_best=2, batch_size=2)
    assert info.value.too_long == [TooLong(2, 7, 3), TooLong(4, 4, 3), TooLong(7, 5, 3)]
    assert str(info.value.too_long[0]) == "source has 7 tokens, the model reads at most 3"
    for i, (src, r) in enumerate(zip(CORPUS, info.value.results)):
        assert r == ([] if i in (2, 4, 7) else beam_search(model, *pad([src]), beam_size=2, n_best=2)[0])
    with pytest.raises(ValueError, match=r"greedy_search: source 0 has 7 tokens, the model reads at most 3"):
        greedy_search(model, *pad([CORPUS[2]]))


def test_output_length_is_capped_at_the_models_max_target_length():
    model = ToyModel(seed=0, eos_bias=-20.0)  # eos never wins: every output runs to its maximum length
    model.max_target_length = 4
    for method, options in [("greedy", {}), ("beam", {"beam_size": 2}), ("sample", {"seed": 0})]:
        results = decode_all(model, CORPUS, method=method, max_len_b=50, **options)
        hyps = [h for r in results for h in (r if isinstance(r, list) else [r])]
        assert {h.n_emitted for h in hyps} == {4}


def test_n_best_rows_pads_to_k():
    model = ToyModel(seed=0)
    src = [[4, 5], [], [5]]
    beams = decode_all(model, src, method="beam", beam_size=3, n_best=2)
    rows = n_best_rows(beams, 3)
    assert [len(r) for r in rows] == [3, 3, 3]
    assert rows[0][:2] == beams[0] and rows[0][2] is None and rows[1] == [None] * 3
    greedy = decode_all(model, src, method="greedy")
    assert n_best_rows(greedy, 1) == [[greedy[0]], [None], [greedy[2]]]
    with pytest.raises(ValueError, match=r"n_best_rows: k must be an int >= 1, got 0"):
        n_best_rows(beams, 0)
