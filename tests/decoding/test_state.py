"""The contract's helpers: row selection and repetition, maximum lengths, length normalisation, special ids."""

from __future__ import annotations

import numpy as np
import pytest

from enc2dec.decoding.state import Hypothesis, max_lengths, normalize, repeat_rows, select_rows
from enc2dec.specials import BOS_ID, EOS_ID, PAD_ID, SPECIAL_TOKENS, UNK_ID


def test_repeat_then_select_rows():
    state = {"h": np.arange(6, dtype=np.float32).reshape(3, 2), "memory": np.arange(3 * 4 * 5).reshape(3, 4, 5)}
    rep = repeat_rows(state, 2)
    assert rep["h"].shape == (6, 2) and rep["memory"].shape == (6, 4, 5)
    np.testing.assert_array_equal(rep["h"][[0, 1, 4]], state["h"][[0, 0, 2]])
    sel = select_rows(rep, np.array([5, 0, 0]))
    np.testing.assert_array_equal(sel["memory"], state["memory"][[2, 0, 0]])
    assert select_rows(state, np.array([True, False, True]))["h"].shape == (2, 2)


def test_max_lengths_truncate_and_floor_at_one():
    np.testing.assert_array_equal(max_lengths(np.array([1, 3, 10]), 1.5, 10), [11, 14, 25])
    np.testing.assert_array_equal(max_lengths(np.array([1, 3]), 0.0, -2), [1, 1])


def test_normalize_and_hypothesis_length():
    assert normalize(-6.0, 3, 0.0) == -6.0
    assert normalize(-6.0, 3, 1.0) == pytest.approx(-2.0)
    assert normalize(-8.0, 4, 0.5) == pytest.approx(-4.0)
    assert Hypothesis([5, 6], -6.0).normalized_score(1.0) == pytest.approx(-2.0)  # 2 tokens + eos
    assert Hypothesis([5, 6], -6.0, reached_eos=False).normalized_score(1.0) == pytest.approx(-3.0)


def test_special_ids_agree_with_vocab():
    from enc2dec.data.vocab import Vocab

    assert (Vocab.PAD, Vocab.UNK, Vocab.BOS, Vocab.EOS) == (PAD_ID, UNK_ID, BOS_ID, EOS_ID)
    assert Vocab.SPECIALS == SPECIAL_TOKENS


def test_hypothesis_equality_compares_attention_arrays():
    attn = np.eye(3, 4, dtype=np.float32)
    assert Hypothesis([5, 6], -1.0, attn) == Hypothesis([5, 6], -1.0, attn.copy())
    assert Hypothesis([5, 6], -1.0, attn) != Hypothesis([5, 6], -1.0, attn[::-1])
    assert Hypothesis([5, 6], -1.0, attn) != Hypothesis([5, 6], -1.0)
    assert Hypothesis([5, 6], -1.0) != Hypothesis([5, 6], -1.0, reached_eos=False)
