"""Beam search: exact against brute force, K=1 = greedy, batched = one at a time, n-best lists, limits, errors."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.decoding import beam_search, greedy_search
from enc2dec.decoding.batch import pad
from enc2dec.decoding.beam import top_columns
from tests.decoding.test_greedy import SOURCES
from tests.decoding.toy import EOS, ToyModel, all_outputs, rescore


def assert_same_hyps(a, b):
    assert [(h.tokens, h.reached_eos) for h in a] == [(h.tokens, h.reached_eos) for h in b]
    np.testing.assert_allclose([h.score for h in a], [h.score for h in b], rtol=0, atol=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_beam_size_one_equals_greedy(seed):
    model = ToyModel(seed=seed)
    beams = beam_search(model, *pad(SOURCES), beam_size=1, length_penalty=0.0)
    assert_same_hyps([nbest[0] for nbest in beams], greedy_search(model, *pad(SOURCES)))


@pytest.mark.parametrize("seed", range(3))
def test_large_beam_finds_the_true_n_best(seed):
    # V=6, 4 steps: a beam of 150 >= 6 * 5**2 keeps every prefix, so the n-best must be exact (alpha = 0).
    model = ToyModel(seed=seed)
    max_len = 4
    for src in SOURCES[:3]:
        truth = all_outputs(model, src, max_len)
        (nbest,) = beam_search(
            model, *pad([src]), beam_size=150, n_best=10, length_penalty=0.0, max_len_a=0, max_len_b=max_len
        )
        assert [(h.tokens, h.reached_eos) for h in nbest] == [(tokens, eos) for _, tokens, eos in truth[:10]]
        np.testing.assert_allclose([h.score for h in nbest], [s for s, _, _ in truth[:10]], atol=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_beam_never_worse_than_greedy_on_the_true_best(seed):
    model = ToyModel(seed=seed)
    best = beam_search(model, *pad(SOURCES), beam_size=8, length_penalty=0.0, max_len_a=0, max_len_b=5)
    greedy = greedy_search(model, *pad(SOURCES), max_len_a=0, max_len_b=5)
    for (b,), g in zip(best, greedy):
        assert b.score >= g.score - 1e-9


@pytest.mark.parametrize("alpha", [0.0, 1.0])
@pytest.mark.parametrize("seed", range(3))
def test_batched_equals_one_at_a_time(seed, alpha):
    model = ToyModel(seed=seed, attention=True)
    batched = beam_search(model, *pad(SOURCES), beam_size=4, n_best=3, length_penalty=alpha)
    for src, nbest in zip(SOURCES, batched):
        (alone,) = beam_search(model, *pad([src]), beam_size=4, n_best=3, length_penalty=alpha)
        assert_same_hyps(nbest, alone)
        for a, b in zip(nbest, alone):
            np.testing.assert_array_equal(a.attention, b.attention)


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
def test_n_best_sorted_distinct_and_scored(alpha):
    model = ToyModel(seed=5)
    results = beam_search(model, *pad(SOURCES), beam_size=6, n_best=6, length_penalty=alpha)
    for src, nbest in zip(SOURCES, results):
        assert len(nbest) == 6
        keys = [h.normalized_score(alpha) for h in nbest]
        assert keys == sorted(keys, reverse=True)
        assert len({(tuple(h.tokens), h.reached_eos) for h in nbest}) == 6
        for h in nbest:
            assert h.score == pytest.approx(rescore(model, src, h.tokens, h.reached_eos), abs=1e-9)
            assert EOS not in h.tokens


def test_length_penalty_favours_longer_outputs():
    model = ToyModel(seed=1)
    lengths = [
        np.mean([nbest[0].n_emitted for nbest in beam_search(model, *pad(SOURCES), beam_size=5, length_penalty=a)])
        for a in (0.0, 2.0)
    ]
    assert lengths[1] > lengths[0]


def test_length_limits_respected():
    model = ToyModel(seed=3, eos_bias=-np.inf)  # never ends
    results = beam_search(model, *pad(SOURCES), beam_size=3, n_best=3, max_len_a=1.0, max_len_b=1)
    for src, nbest in zip(SOURCES, results):
        assert [len(h.tokens) for h in nbest] == [len(src) + 1] * 3
        assert not any(h.reached_eos for h in nbest)


def test_attention_collected_along_the_chosen_path():
    model = ToyModel(seed=0, attention=True)
    for src, nbest in zip(SOURCES, beam_search(model, *pad(SOURCES), beam_size=3, n_best=3)):
        for h in nbest:
            assert h.attention.shape == (h.n_emitted, len(src))
            np.testing.assert_array_equal(h.attention.argmax(axis=1), np.minimum(np.arange(h.n_emitted), len(src) - 1))
    assert beam_search(ToyModel(seed=0), *pad(SOURCES))[0][0].attention is None


def test_finished_sentences_leave_the_state():
    model = ToyModel(seed=2)
    beam_search(model, *pad(SOURCES), beam_size=3, length_penalty=0.0, max_len_a=0, max_len_b=30)
    assert model.batch_sizes[0] == 3 * len(SOURCES)
    assert model.batch_sizes[-1] < model.batch_sizes[0]
    assert all(n % 3 == 0 for n in model.batch_sizes)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"beam_size": 0}, r"beam_search: beam_size must be an int >= 1, got 0"),
        ({"beam_size": 2.5}, r"beam_size must be an int >= 1, got 2.5"),
        ({"beam_size": 2, "n_best": 3}, r"n_best must be an int in \[1, beam_size=2\], got 3"),
        ({"n_best": 0}, r"n_best must be an int in \[1, beam_size=5\], got 0"),
        ({"length_penalty": -0.5}, r"length_penalty \(alpha\) must be >= 0, got -0.5"),
        ({"max_len_a": -1}, r"beam_search: max_len_a must be >= 0"),
    ],
)
def test_option_errors(options, match):
    with pytest.raises(ValueError, match=match):
        beam_search(ToyModel(), *pad(SOURCES), **options)


def test_source_errors_name_beam_search():
    with pytest.raises(ValueError, match=r"beam_search: src_lengths must have shape \(B,\) = \(1,\)"):
        beam_search(ToyModel(), np.zeros((1, 3), dtype=np.int64), np.array([3, 3]))


@pytest.mark.parametrize("V, n", [(10_000, 10), (6_007, 6), (150, 10), (40, 10), (12, 20)])
def test_top_columns_are_the_n_largest(V, n):
    rng = np.random.default_rng(V)
    x = rng.standard_normal((7, V), dtype=np.float32)
    x[3] = -np.inf  # a row with no finite value (a beam that is not alive)
    x[4, -3:] = 50.0  # the largest values in the short last chunk
    top = top_columns(x, n)
    assert top.shape == (7, min(n, V))
    expected = np.sort(np.argsort(-x[[0, 1, 2, 4, 5, 6]], axis=1, kind="stable")[:, : min(n, V)], axis=1)
    np.testing.assert_array_equal(np.sort(top[[0, 1, 2, 4, 5, 6]], axis=1), expected)
    assert len(set(top[3])) == min(n, V)  # distinct columns even when every value ties
