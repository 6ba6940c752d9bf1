"""Sampling: seeded repeatability, greedy limits, the reshaped distribution, empirical frequencies, errors."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.decoding import greedy_search, sample
from enc2dec.decoding.batch import pad
from enc2dec.decoding.sampling import draw, sampling_probs
from enc2dec.nn import functional
from tests.decoding.test_greedy import SOURCES
from tests.decoding.toy import EOS, ToyModel, rescore


def test_seeded_sampling_repeats_and_seeds_differ():
    model = ToyModel(seed=0)
    src = pad(SOURCES * 4)
    a = sample(model, *src, rng=np.random.default_rng(7))
    b = sample(model, *src, rng=np.random.default_rng(7))
    c = sample(model, *src, rng=np.random.default_rng(8))
    assert a == b
    assert a != c


def test_scores_are_the_models_log_probs():
    model = ToyModel(seed=1)
    for src, h in zip(SOURCES, sample(model, *pad(SOURCES), rng=np.random.default_rng(0), temperature=1.7, top_k=4)):
        assert h.score == pytest.approx(rescore(model, src, h.tokens, h.reached_eos), abs=1e-9)
        assert EOS not in h.tokens


@pytest.mark.parametrize("options", [{"temperature": 1e-6}, {"top_k": 1}, {"top_p": 1e-9}, {"top_k": 1, "top_p": 0.5}])
@pytest.mark.parametrize("seed", range(3))
def test_greedy_limits(seed, options):
    model = ToyModel(seed=seed, attention=True)
    sampled = sample(model, *pad(SOURCES), rng=np.random.default_rng(seed), **options)
    greedy = greedy_search(model, *pad(SOURCES))
    for s, g in zip(sampled, greedy):
        assert (s.tokens, s.reached_eos, s.score) == (g.tokens, g.reached_eos, g.score)
        np.testing.assert_array_equal(s.attention, g.attention)


def test_sampling_probs_by_hand():
    log_probs = np.log(np.array([[0.1, 0.4, 0.2, 0.3]], dtype=np.float32))
    np.testing.assert_allclose(sampling_probs(log_probs), [[0.1, 0.4, 0.2, 0.3]], rtol=1e-6)
    np.testing.assert_allclose(sampling_probs(log_probs, top_k=2), [[0, 4 / 7, 0, 3 / 7]], rtol=1e-6)
    # top_p: keep the most likely tokens until their mass reaches p (0.4 < 0.5, 0.4 + 0.3 >= 0.5).
    np.testing.assert_allclose(sampling_probs(log_probs, top_p=0.5), [[0, 4 / 7, 0, 3 / 7]], rtol=1e-6)
    np.testing.assert_allclose(sampling_probs(log_probs, top_p=0.4), [[0, 1, 0, 0]], rtol=1e-6)
    np.testing.assert_allclose(sampling_probs(log_probs, top_p=1.0), [[0.1, 0.4, 0.2, 0.3]], rtol=1e-6)
    tempered = functional.softmax(np.log([0.1, 0.4, 0.2, 0.3]) / 2.0)
    np.testing.assert_allclose(sampling_probs(log_probs, temperature=2.0)[0], tempered, rtol=1e-6)
    np.testing.assert_allclose(sampling_probs(log_probs, top_k=10), sampling_probs(log_probs), rtol=1e-12)


def test_draw_frequencies_match_probabilities():
    probs = np.tile([[0.0, 0.5, 0.0, 0.2, 0.3]], (20000, 1))
    counts = np.bincount(draw(probs, np.random.default_rng(0)), minlength=5) / 20000
    np.testing.assert_allclose(counts, probs[0], atol=0.015)
    assert counts[0] == counts[2] == 0


def test_first_token_frequencies_through_the_loop():
    model = ToyModel(seed=4)
    src = [4, 5, 1]
    hyps = sample(model, *pad([src] * 4000), rng=np.random.default_rng(1), temperature=0.8, top_p=0.9, max_len_b=1)
    first = np.array([h.tokens[0] if h.tokens else EOS for h in hyps])
    log_probs, _ = model.step(np.array([2]), model.encode(np.array([src]), np.array([3])))
    expected = sampling_probs(log_probs, temperature=0.8, top_p=0.9)[0]
    np.testing.assert_allclose(np.bincount(first, minlength=6) / 4000, expected, atol=0.03)


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        (
            {"temperature": 0},
            ValueError,
            r"sample: temperature must be > 0 \(use greedy_search for the limit 0\), got 0",
        ),
        ({"temperature": -1.0}, ValueError, r"temperature must be > 0"),
        ({"top_k": 0}, ValueError, r"sample: top_k must be None or an int >= 1, got 0"),
        ({"top_k": 2.0}, ValueError, r"top_k must be None or an int >= 1, got 2.0"),
        ({"top_p": 0.0}, ValueError, r"sample: top_p must be None or in \(0, 1\], got 0.0"),
        ({"top_p": 1.5}, ValueError, r"top_p must be None or in \(0, 1\], got 1.5"),
        ({"rng": 0}, TypeError, r"sample: rng must be a numpy.random.Generator, got int"),
    ],
)
def test_option_errors(options, error, match):
    options = {"rng": np.random.default_rng(0), **options}
    with pytest.raises(error, match=match):
        sample(ToyModel(), *pad(SOURCES), **options)


def test_source_errors_name_sample():
    with pytest.raises(TypeError, match=r"sample: src_ids must be an integer array"):
        sample(ToyModel(), np.zeros((1, 3)), np.array([3]), rng=np.random.default_rng(0))
