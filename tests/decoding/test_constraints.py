"""Decoding controls against hand-worked examples: the GNMT length penalty, n-gram blocking, a minimum length; and
the three searches obeying them on the toy model."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.decoding import beam_search, greedy_search, pad, sample
from enc2dec.decoding.constraints import constrain
from enc2dec.decoding.state import Hypothesis, normalize

from .toy import EOS, ToyModel, rescore

SOURCES = [[1, 4, 5], [2], [5, 5, 1, 4]]


def test_gnmt_length_penalty_by_hand():
    # ((5 + 7) / 6) ** 1 = 2; ((5 + 1) / 6) ** alpha = 1 for any alpha
    assert normalize(-6.0, 7, 1.0, "gnmt") == pytest.approx(-3.0)
    assert normalize(-6.0, 7, 0.6, "gnmt") == pytest.approx(-6.0 / 2**0.6)
    assert normalize(-6.0, 1, 0.6, "gnmt") == pytest.approx(-6.0)
    assert normalize(-6.0, 7, 0.0, "gnmt") == -6.0 and normalize(-6.0, 4, 1.0) == -1.5
    # the two styles rank these two hypotheses in opposite orders
    short, long = Hypothesis([7], -1.0), Hypothesis([7] * 5, -2.4)  # 2 and 6 emitted (eos included)
    assert long.normalized_score(1.0) > short.normalized_score(1.0)  # -0.4 > -0.5
    assert short.normalized_score(1.0, "gnmt") > long.normalized_score(1.0, "gnmt")  # -6/7 > -2.4 * 6/11


def test_ngram_blocking_by_hand():
    history = np.array([[1, 2, 3, 1, 2], [5, 5, 5, 0, 4], [1, 2, 1, 2, 1]])
    log_probs = np.zeros((3, 6), dtype=np.float32)
    banned = lambda out: [sorted(np.flatnonzero(np.isinf(row)).tolist()) for row in out]  # noqa: E731
    # trigrams: row 0 ends "1 2", which "1 2 3" continued: 3 is banned; row 1 ends "0 4": never seen before
    # row 2 ends "2 1", continued by 2 in "2 1 2"
    assert banned(constrain(log_probs, history, min_length=0, no_repeat_ngram=3, eos_id=EOS)) == [[3], [], [2]]
    # bigrams: after 2 came 3 (row 0); after 4 nothing (row 1); after 1 came 2 (row 2)
    assert banned(constrain(log_probs, history, min_length=0, no_repeat_ngram=2, eos_id=EOS)) == [[3], [], [2]]
    assert banned(constrain(log_probs, history[:, :2], min_length=0, no_repeat_ngram=2, eos_id=EOS)) == [[], [5], []]
    # eos is banned while fewer than min_length tokens are out; nothing to ban: the same array back
    assert banned(constrain(log_probs, history, min_length=6, no_repeat_ngram=0, eos_id=EOS)) == [[EOS]] * 3
    assert constrain(log_probs, history, min_length=5, no_repeat_ngram=6, eos_id=EOS) is log_probs


def _has_repeated(tokens: list[int], n: int) -> bool:
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(grams) != len(set(grams))


@pytest.mark.parametrize("search", ["greedy", "beam", "sample"])
def test_searches_obey_min_length_and_ngram_blocking(search):
    model = ToyModel(vocab_size=8, seed=1, eos_bias=-1.0)
    src = pad(SOURCES * 3)
    run = {"greedy": lambda **o: greedy_search(model, *src, **o),
           "beam": lambda **o: [n[0] for n in beam_search(model, *src, beam_size=4, **o)],
           "sample": lambda **o: sample(model, *src, rng=np.random.default_rng(0), **o)}[search]  # fmt: skip
    free = run(max_len_a=0, max_len_b=20)
    assert any(_has_repeated(h.tokens, 2) for h in free)  # the toy model repeats itself when let
    blocked = run(max_len_a=0, max_len_b=20, no_repeat_ngram=2)
    assert not any(_has_repeated(h.tokens, 2) for h in blocked)
    long = run(max_len_a=0, max_len_b=20, min_length=6)
    assert all(len(h.tokens) >= 6 for h in long) and all(np.isfinite(h.score) for h in long)


def test_gnmt_beam_ranks_its_finished_hypotheses_by_the_gnmt_score():
    model = ToyModel(vocab_size=6, seed=3)
    for style in ("avg", "gnmt"):
        for nbest in beam_search(model, *pad(SOURCES), beam_size=5, n_best=5, length_penalty=1.0,
                                 length_penalty_style=style):  # fmt: skip
            keys = [h.normalized_score(1.0, style) for h in nbest]
            assert keys == sorted(keys, reverse=True)


@pytest.mark.parametrize(
    "options, match",
    [({"no_repeat_ngram": 1}, "no_repeat_ngram must be 0 .off. or >= 2, got 1"),
     ({"min_length": -1}, "min_length must be an int >= 0, got -1"),
     ({"length_penalty_style": "wu"}, "length_penalty_style must be one of")],
)  # fmt: skip
def test_option_errors(options, match):
    search = beam_search if "length_penalty_style" in options else greedy_search
    with pytest.raises(ValueError, match=match):
        search(ToyModel(), *pad(SOURCES), **options)


@pytest.mark.parametrize("search", ["greedy", "beam", "sample"])
def test_outputs_start_with_their_forced_prefix(search):
    model = ToyModel(vocab_size=8, seed=2)
    prefix = [[5, 5, 4], [], [7]]
    src = pad(SOURCES)
    run = {"greedy": lambda **o: greedy_search(model, *src, **o),
           "beam": lambda **o: [n[0] for n in beam_search(model, *src, beam_size=3, length_penalty=0.0, **o)],
           "sample": lambda **o: sample(model, *src, rng=np.random.default_rng(1), **o)}[search]  # fmt: skip
    forced = run(prefix=prefix, max_len_a=0, max_len_b=12)
    for p, h, src_ids in zip(prefix, forced, SOURCES):
        assert h.tokens[: len(p)] == p
        assert h.score == pytest.approx(rescore(model, src_ids, h.tokens, h.reached_eos), abs=1e-9)  # prefix scored
    assert forced[1] == run(max_len_a=0, max_len_b=12)[1]  # an empty prefix changes nothing (its own batch row)
    with pytest.raises(ValueError, match="prefix must hold one token list per sentence .3., got 2"):
        run(prefix=prefix[:2])
    with pytest.raises(ValueError, match="prefix 0 holds a negative id or eos"):
        run(prefix=[[EOS], [], []])
