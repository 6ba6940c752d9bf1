"""Greedy search: argmax at every step, batched = one at a time, length limits, attention, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.decoding import greedy_search
from enc2dec.decoding.batch import pad
from tests.decoding.toy import EOS, ToyModel, rescore

SOURCES = [[4, 5, 1], [5], [1, 4, 4, 5, 2, 5, 1], [3, 5], [5, 5, 1, 1]]  # ctx 1, 0, 2, 2, 0


def test_greedy_picks_argmax_each_step():
    model = ToyModel(seed=1)
    src = [4, 5, 1]
    (hyp,) = greedy_search(model, *pad([src]))
    # Replay: at every step the emitted token is the argmax of the model's distribution.
    state = model.encode(np.array([src]), np.array([len(src)]))
    prev = 2
    for y in hyp.tokens + ([EOS] if hyp.reached_eos else []):
        log_probs, state = model.step(np.array([prev], dtype=np.int64), state)
        assert y == int(log_probs[0].argmax())
        prev = y
    assert hyp.score == pytest.approx(rescore(model, src, hyp.tokens, hyp.reached_eos), abs=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_greedy_batched_equals_one_at_a_time(seed):
    model = ToyModel(seed=seed)
    batched = greedy_search(model, *pad(SOURCES))
    for src, hyp in zip(SOURCES, batched):
        (alone,) = greedy_search(model, *pad([src]))
        assert hyp == alone
    assert any(h.reached_eos for h in batched)


def test_finished_rows_leave_the_batch():
    model = ToyModel(seed=2, eos_bias=1.0)
    hyps = greedy_search(model, *pad(SOURCES), max_len_a=0, max_len_b=20)
    assert model.batch_sizes[0] == len(SOURCES)
    assert all(a >= b for a, b in zip(model.batch_sizes, model.batch_sizes[1:]))
    assert len(model.batch_sizes) == max(h.n_emitted for h in hyps)


def test_length_limit_relative_to_source():
    model = ToyModel(seed=3, eos_bias=-np.inf)  # never ends: every output runs to its limit
    src_ids, src_lengths = pad(SOURCES)
    hyps = greedy_search(model, src_ids, src_lengths, max_len_a=1.5, max_len_b=1)
    for src, hyp in zip(SOURCES, hyps):
        assert len(hyp.tokens) == int(1.5 * len(src) + 1)
        assert not hyp.reached_eos and EOS not in hyp.tokens


def test_length_limit_absolute_and_at_least_one_step():
    model = ToyModel(seed=3, eos_bias=-np.inf)
    assert [len(h.tokens) for h in greedy_search(model, *pad(SOURCES), max_len_a=0, max_len_b=2)] == [2] * 5
    assert [len(h.tokens) for h in greedy_search(model, *pad(SOURCES), max_len_a=0, max_len_b=-3)] == [1] * 5


def test_attention_is_collected_per_emitted_token():
    model = ToyModel(seed=0, attention=True)
    hyps = greedy_search(model, *pad(SOURCES), max_len_a=1, max_len_b=3)
    for src, hyp in zip(SOURCES, hyps):
        assert hyp.attention.shape == (hyp.n_emitted, len(src))
        np.testing.assert_array_equal(hyp.attention.argmax(axis=1), np.minimum(np.arange(hyp.n_emitted), len(src) - 1))
    assert greedy_search(ToyModel(seed=0), *pad(SOURCES))[0].attention is None


def test_custom_bos_and_eos_ids():
    model = ToyModel(seed=4)
    hyps = greedy_search(model, *pad(SOURCES), bos_id=1, eos_id=5)
    for src, hyp in zip(SOURCES, hyps):
        assert 5 not in hyp.tokens
        assert hyp.score == pytest.approx(rescore_with(model, src, hyp, bos=1, eos=5), abs=1e-9)


def rescore_with(model, src, hyp, bos, eos):
    state = model.encode(np.array([src]), np.array([len(src)]))
    prev, total = bos, 0.0
    for y in hyp.tokens + ([eos] if hyp.reached_eos else []):
        log_probs, state = model.step(np.array([prev], dtype=np.int64), state)
        total, prev = total + float(log_probs[0, y]), y
    return total


def test_empty_batch():
    assert greedy_search(ToyModel(), np.zeros((0, 3), dtype=np.int64), np.zeros(0, dtype=np.int64)) == []


@pytest.mark.parametrize(
    ("src_ids", "src_lengths", "error", "match"),
    [
        (
            np.zeros((2, 3), dtype=np.float32),
            np.array([3, 3]),
            TypeError,
            r"greedy_search: src_ids must be an integer array",
        ),
        ([[4, 5]], np.array([2]), TypeError, r"src_ids must be an integer array \(B, S\), got list"),
        (np.zeros(3, dtype=np.int64), np.array([3]), ValueError, r"src_ids must have shape \(B, S\), got \(3,\)"),
        (np.zeros((2, 3), dtype=np.int64), np.array([3.0, 3.0]), TypeError, r"src_lengths must be an integer array"),
        (
            np.zeros((2, 3), dtype=np.int64),
            np.array([3, 3, 3]),
            ValueError,
            r"src_lengths must have shape \(B,\) = \(2,\)",
        ),
        (np.zeros((2, 3), dtype=np.int64), np.array([3, 4]), ValueError, r"src_lengths must lie in \[1, S=3\]"),
        (np.zeros((2, 3), dtype=np.int64), np.array([0, 3]), ValueError, r"src_lengths must lie in \[1, S=3\]"),
    ],
)
def test_source_errors(src_ids, src_lengths, error, match):
    with pytest.raises(error, match=match):
        greedy_search(ToyModel(), src_ids, src_lengths)


def test_max_len_errors():
    with pytest.raises(ValueError, match=r"greedy_search: max_len_a must be >= 0, got -1"):
        greedy_search(ToyModel(), *pad(SOURCES), max_len_a=-1)
    with pytest.raises(ValueError, match=r"max_len_b must be finite"):
        greedy_search(ToyModel(), *pad(SOURCES), max_len_b=float("inf"))


class BadModel(ToyModel):
    def __init__(self, fault):
        super().__init__()
        self.fault = fault

    def step(self, prev_ids, state):
        log_probs, state = super().step(prev_ids, state)
        if self.fault == "log_probs":
            return log_probs[:, None], state
        if self.fault == "state":
            return log_probs, dict(state, h=np.zeros((len(prev_ids) + 1, 4), dtype=np.float32))
        return log_probs, state


def test_model_contract_errors():
    with pytest.raises(ValueError, match=r"model.step must return log_probs of shape \(5, V\), got \(5, 1, 6\)"):
        greedy_search(BadModel("log_probs"), *pad(SOURCES))
    with pytest.raises(ValueError, match=r"state\['h'\] must have 5 rows on axis 0, got \(6, 4\)"):
        greedy_search(BadModel("state"), *pad(SOURCES))
    with pytest.raises(ValueError, match=r"eos_id=9 is not a token of the model's vocabulary \(V=6\)"):
        greedy_search(ToyModel(), *pad(SOURCES), eos_id=9)
